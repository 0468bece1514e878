#!/usr/bin/env python3
"""A reference connector for rolecall's webhook protocol, version v1
(docs/connector-protocol.md), standard library only.

It manages a small app of its own: accounts with roles and assets in a SQLite
database. An added account is an invitation (status "invited") until someone
accepts it (POST /admin/accept, as the person clicking the link would);
a removal cancels a pending invitation (the row is deleted) or deactivates an
active account; an update sets roles and assets exactly and re-activates.

Every /v1 request must be signed (X-Rolecall-Timestamp, X-Rolecall-Signature)
with the shared secret; requests signed more than 300 s from now are refused.
Every write is idempotent by its operation_id: the answer is stored with the
request's fingerprint in the same transaction as the change, and a retry gets
the stored answer.

--broken makes it wrong on purpose, to show what `rolecall connector test`
catches: `idempotency` (a retried add makes a second account), `signature`
(any signature and any timestamp are accepted), `paging` (each page's cursor
points one item back, so pages repeat an item).

/admin/* (only with --admin) is the app's own back office for tests: accept an
invitation, list every row, inject faults, read the request log. It is not
part of the protocol and is not signed: serve it on loopback only.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

PROTOCOL_VERSION = "v1"
REPLAY_WINDOW_SECONDS = 300
MAX_PAGE = 1000
ERROR_STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "not_found": 404,
    "already_exists": 409,
    "permanent": 422,
    "rate_limited": 429,
    "transient": 503,
}
# Answers to writes that are stored under their operation id and replayed to a retry.
# A transient failure is not stored: the retry should try again.
STORED_STATUSES = {200, 201, 204, 404, 409}

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL COLLATE NOCASE,
    display_name TEXT,
    given_name TEXT,
    family_name TEXT,
    roles TEXT NOT NULL,
    assets TEXT NOT NULL,
    status TEXT NOT NULL,
    last_active TEXT,
    failure TEXT
);
CREATE TABLE IF NOT EXISTS operations (
    operation_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL
);
"""


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, kind, message, retry_after=None):
        super().__init__(message)
        self.kind, self.message, self.retry_after = kind, message, retry_after

    def answer(self):
        error = {"type": self.kind, "message": self.message}
        if self.retry_after is not None:
            error["retry_after_seconds"] = self.retry_after
        return ERROR_STATUS[self.kind], {"error": error}


class App:
    """The app's data and the protocol's rules, independent of HTTP."""

    def __init__(self, path, roles, assets, broken, without=()):
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.roles = roles
        self.assets = assets
        self.broken = broken
        self.without = set(without)

    # --- reading ---

    @staticmethod
    def account(row):
        seq, id_, email, display_name, _given, _family, roles, assets, status, last_active, failure = row
        out = {"id": id_, "email": email, "roles": json.loads(roles), "assets": json.loads(assets), "status": status}
        if failure and status == "invite_failed":
            out["invite_failure"] = json.loads(failure)
        if display_name:
            out["display_name"] = display_name
        if last_active:
            out["last_active"] = last_active
        return out

    def rows(self, where="", args=(), limit=-1):
        with self.lock:
            return self.db.execute(f"SELECT * FROM accounts {where} ORDER BY seq LIMIT {int(limit)}", args).fetchall()

    def page(self, limit, cursor, email):
        after = 0
        if cursor:
            try:
                after = int(base64.urlsafe_b64decode(cursor.encode()).decode())
            except ValueError:
                raise ApiError("invalid", "the cursor is not one this connector gave out")
        where, args = "WHERE seq > ?", [after]
        if email is not None:
            where += " AND email = ? COLLATE NOCASE"
            args.append(email)
        rows = self.rows(where, tuple(args), limit + 1)
        page, more = rows[:limit], len(rows) > limit
        next_cursor = None
        if more:
            last = page[-1][0]
            if "paging" in self.broken and len(page) >= 2:
                last = page[-2][0]  # deliberately wrong: the next page repeats this page's last item
            next_cursor = base64.urlsafe_b64encode(str(last).encode()).decode()
        return {"accounts": [self.account(r) for r in page], "next_cursor": next_cursor}

    # --- validation ---

    def access(self, body):
        roles, assets = body.get("roles", []), body.get("assets", {})
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ApiError("invalid", "roles must be a list of role names")
        if not isinstance(assets, dict):
            raise ApiError("invalid", "assets must be an object of asset name to role")
        for role in roles:
            if role not in self.roles:
                raise ApiError("invalid", f"unknown role {role!r}")
        for name, role in assets.items():
            if name not in self.assets:
                raise ApiError("invalid", f"unknown asset {name!r}")
            if role not in self.assets[name]["roles"]:
                raise ApiError("invalid", f"asset {name!r} has no role {role!r}")
        return sorted(set(roles)), dict(sorted(assets.items()))

    # --- writing, idempotent by operation id ---

    def write(self, method, path, body, change):
        """Runs `change` (which returns (status, body)) once per operation id."""
        op = body.get("operation_id")
        if not isinstance(op, str) or not op:
            raise ApiError("invalid", "operation_id is required")
        request = {k: v for k, v in body.items() if k != "operation_id"}
        fingerprint = hashlib.sha256(json.dumps([method, path, request], sort_keys=True).encode()).hexdigest()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if not ("idempotency" in self.broken and method == "POST"):
                    stored = self.db.execute(
                        "SELECT fingerprint, status, body FROM operations WHERE operation_id = ?", (op,)
                    ).fetchone()
                    if stored:
                        self.db.execute("ROLLBACK")
                        if stored[0] != fingerprint:
                            raise ApiError("invalid", "this operation_id was used for a different request")
                        return stored[1], json.loads(stored[2])
                try:
                    status, answer = change()
                except ApiError as e:
                    status, answer = e.answer()
                if status in STORED_STATUSES:
                    self.db.execute(
                        "INSERT OR REPLACE INTO operations VALUES (?, ?, ?, ?)", (op, fingerprint, status, json.dumps(answer))
                    )
                self.db.execute("COMMIT")
                return status, answer
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def add(self, body):
        email = body.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ApiError("invalid", "email is required")
        roles, assets = self.access(body)

        def change():
            if "idempotency" not in self.broken:
                # A failed invitation is no account: a new add invites again, in its place.
                self.db.execute("DELETE FROM accounts WHERE email = ? COLLATE NOCASE AND status = 'invite_failed'", (email,))
                if self.db.execute("SELECT 1 FROM accounts WHERE email = ? COLLATE NOCASE", (email,)).fetchone():
                    raise ApiError("already_exists", f"an account with {email} exists")
            id_ = uuid.uuid4().hex[:12]
            self.db.execute(
                "INSERT INTO accounts (id, email, display_name, given_name, family_name, roles, assets, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'invited')",
                (id_, email, body.get("display_name"), body.get("given_name"), body.get("family_name"),
                 json.dumps(roles), json.dumps(assets)),
            )
            row = self.db.execute("SELECT * FROM accounts WHERE id = ?", (id_,)).fetchone()
            return 201, self.account(row)

        return self.write("POST", "/v1/accounts", body, change)

    def update(self, id_, body):
        roles, assets = self.access(body)

        def change():
            row = self.db.execute("SELECT status FROM accounts WHERE id = ?", (id_,)).fetchone()
            if not row:
                raise ApiError("not_found", f"no account {id_}")
            status = "active" if row[0] == "deactivated" else row[0]
            self.db.execute(
                "UPDATE accounts SET roles = ?, assets = ?, status = ? WHERE id = ?",
                (json.dumps(roles), json.dumps(assets), status, id_),
            )
            return 200, self.account(self.db.execute("SELECT * FROM accounts WHERE id = ?", (id_,)).fetchone())

        return self.write("PUT", f"/v1/accounts/{id_}", body, change)

    def remove(self, id_, body):
        def change():
            row = self.db.execute("SELECT status FROM accounts WHERE id = ?", (id_,)).fetchone()
            if not row:
                raise ApiError("not_found", f"no account {id_}")
            if row[0] in ("invited", "invite_failed"):
                self.db.execute("DELETE FROM accounts WHERE id = ?", (id_,))  # cancels the invitation
            else:
                self.db.execute("UPDATE accounts SET status = 'deactivated' WHERE id = ?", (id_,))
            return 204, None

        return self.write("DELETE", f"/v1/accounts/{id_}", body, change)

    def fail(self, email, reason, expired):
        """The invitation bounced (or expired unaccepted), as a mail server or the app's own clock says."""
        failure = json.dumps({"reason": reason, "at": now_rfc3339(), "expired": bool(expired)})
        with self.lock:
            changed = self.db.execute(
                "UPDATE accounts SET status = 'invite_failed', failure = ? WHERE email = ? COLLATE NOCASE AND status = 'invited'",
                (failure, email),
            ).rowcount
        return changed

    def accept(self, email):
        with self.lock:
            changed = self.db.execute(
                "UPDATE accounts SET status = 'active', last_active = ? WHERE email = ? COLLATE NOCASE AND status = 'invited'",
                (now_rfc3339(), email),
            ).rowcount
        return changed


class Faults:
    """Injected answers for tests: the next `count` requests matching `match` ("METHOD /path-prefix")."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = []

    def add(self, fault):
        with self.lock:
            self.pending.append(dict(fault))

    def take(self, method, path):
        with self.lock:
            for fault in self.pending:
                want = fault.get("match", "")
                m, _, prefix = want.partition(" ")
                if (not m or m == method) and path.startswith(prefix) and fault.get("count", 1) > 0:
                    fault["count"] = fault.get("count", 1) - 1
                    return fault
        return None


def make_handler(app, secret, admin, faults, log):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "rolecall-reference-connector"

        def log_message(self, fmt, *args):  # quiet: the request log is /admin/requests
            pass

        def send(self, status, body, headers=()):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def verify(self, raw):
            if "signature" in app.broken:
                return  # deliberately wrong: any signature, any time
            ts = self.headers.get("X-Rolecall-Timestamp")
            sig = self.headers.get("X-Rolecall-Signature", "")
            if ts is None or not ts.strip().isdigit():
                raise ApiError("unauthorized", "missing or malformed X-Rolecall-Timestamp")
            if abs(time.time() - int(ts)) > REPLAY_WINDOW_SECONDS:
                raise ApiError("unauthorized", "the request's timestamp is outside the replay window")
            expected = "sha256=" + hmac.new(secret, ts.strip().encode() + b"." + raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected.encode(), sig.strip().encode()):
                raise ApiError("unauthorized", "the signature does not match")

        def handle_any(self, method):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, body, headers, delay = 500, None, [], 0
            try:
                if url.path.startswith("/admin/") and admin:
                    status, body = self.admin(method, url, raw)
                else:
                    self.verify(raw)
                    fault = faults.take(method, url.path)
                    if fault and fault["kind"] == "rate_limited":
                        retry = int(fault.get("retry_after", 2))
                        headers.append(("Retry-After", str(retry)))
                        raise ApiError("rate_limited", "slow down", retry_after=retry)
                    if fault and fault["kind"] == "server_error":
                        status, body = 500, {"error": {"type": "transient", "message": "injected server error"}}
                    elif fault and fault["kind"] == "malformed":
                        status, body = 200, None
                        self.send_response(200)
                        data = b'{"accounts": [{"id": '
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        log.append({"method": method, "path": url.path, "status": 200, "fault": "malformed", "at": time.time()})
                        return
                    else:
                        delay = float(fault.get("seconds", 0)) if fault and fault["kind"] == "delay" else 0
                        status, body = self.route(method, url, raw)
            except ApiError as e:
                status, body = e.answer()
            except (ValueError, KeyError, json.JSONDecodeError) as e:
                status, body = ApiError("invalid", f"unreadable request: {e}").answer()
            except Exception as e:  # a bug of the connector: a typed transient answer, never a dropped connection
                print(f"error: {method} {url.path}: {e!r}", file=sys.stderr, flush=True)
                status, body = ApiError("transient", f"internal error: {e}").answer()
            entry = {"method": method, "path": url.path, "status": status, "at": time.time()}
            if raw:
                try:
                    sent = json.loads(raw)
                    entry["operation_id"] = sent.get("operation_id")
                    if sent.get("email"):
                        entry["email"] = sent["email"]
                except (ValueError, AttributeError):
                    pass
            if not url.path.startswith("/admin/"):
                log.append(entry)
            if delay:
                time.sleep(delay)  # the change is made; the answer is late (a caller may give up)
            self.send(status, body, headers)

        def route(self, method, url, raw):
            parts = [unquote(p) for p in url.path.split("/") if p]
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ApiError("invalid", "the body must be a JSON object")
            if parts == ["v1", "capabilities"] and method == "GET":
                offered = {"protocol_version": PROTOCOL_VERSION, "roles": "many", "assets": True, "invitations": True,
                           "deactivation": True, "last_activity": True}
                offered.update({name: False for name in app.without})
                return 200, offered
            if parts == ["v1", "roles"] and method == "GET":
                return 200, {"roles": [{"name": r, "description": f"the {r} role"} for r in app.roles]}
            if parts == ["v1", "assets"] and method == "GET":
                return 200, {"assets": [{"name": n, **a} for n, a in app.assets.items()]}
            if parts == ["v1", "accounts"] and method == "GET":
                limit = int(query.get("limit", 100))
                if not 1 <= limit <= MAX_PAGE:
                    raise ApiError("invalid", f"limit must be 1 to {MAX_PAGE}")
                return 200, app.page(limit, query.get("cursor"), query.get("email"))
            if parts == ["v1", "accounts"] and method == "POST":
                return app.add(body)
            if len(parts) == 3 and parts[:2] == ["v1", "accounts"] and method == "PUT":
                return app.update(parts[2], body)
            if len(parts) == 3 and parts[:2] == ["v1", "accounts"] and method == "DELETE":
                return app.remove(parts[2], body)
            raise ApiError("not_found", f"no route {method} {url.path}")

        def admin(self, method, url, raw):
            body = json.loads(raw) if raw else {}
            if url.path == "/admin/accept" and method == "POST":
                return 200, {"accepted": app.accept(body["email"])}
            if url.path == "/admin/fail" and method == "POST":
                return 200, {"failed": app.fail(body["email"], body.get("reason", "the invitation could not be delivered"), body.get("expired", False))}
            if url.path == "/admin/accounts" and method == "GET":
                return 200, {"accounts": [App.account(r) for r in app.rows()]}
            if url.path == "/admin/faults" and method == "POST":
                faults.add(body)
                return 200, {}
            if url.path == "/admin/requests" and method == "GET":
                return 200, {"requests": list(log)}
            raise ApiError("not_found", f"no admin route {method} {url.path}")

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_DELETE(self):
            self.handle_any("DELETE")

    return Handler


def parse_assets(text):
    """`web:viewer|editor,api:viewer|editor` → {"web": {"kind": "project", "roles": [...]}, ...}."""
    assets = {}
    for item in filter(None, text.split(",")):
        name, _, roles = item.partition(":")
        assets[name] = {"kind": "project", "roles": [r for r in roles.split("|") if r]}
    return assets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--db", default="reference-app.db", help="the app's SQLite database")
    parser.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET"),
                        help="the shared signing secret (or WEBHOOK_SECRET)")
    parser.add_argument("--roles", default="member,admin", help="the app's roles, comma-separated")
    parser.add_argument("--assets", default="web:viewer|editor,api:viewer|editor",
                        help="the app's assets and their roles: name:role|role,...")
    parser.add_argument("--admin", action="store_true", help="serve /admin/* (tests; loopback only)")
    parser.add_argument("--without", action="append", default=[],
                        choices=["assets", "invitations", "deactivation", "last_activity"],
                        help="leave a capability out of GET /v1/capabilities (repeatable)")
    parser.add_argument("--broken", action="append", default=[], choices=["idempotency", "signature", "paging"],
                        help="be wrong on purpose (repeatable)")
    args = parser.parse_args()
    if not args.secret:
        parser.error("a signing secret is required: --secret or WEBHOOK_SECRET")
    app = App(args.db, [r for r in args.roles.split(",") if r], parse_assets(args.assets), set(args.broken), args.without)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(app, args.secret.encode(), args.admin, Faults(), []))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
