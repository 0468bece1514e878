"""What the app stand-ins (tests/github, tests/meta, tests/tiktok) share.

Each stand-in serves one app's API on one port and, on a second port, a plain
JSON admin API through which a test reads the calls and the state and acts as
the world. The plumbing of that second port, the call log, the queue of faults
a test asks for, how an answer is written or a connection dropped, and starting
both servers are the same for every app; this module holds them once. What an app answers, and its own admin routes, stay in
its own standin.py.

A stand-in is started as `python3 tests/APP/standin.py ...`, so it imports this
module after putting tests/ on sys.path. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class QuietHandler(BaseHTTPRequestHandler):
    """A handler on HTTP/1.1 (keep-alive, as clients of the real APIs expect) that
    logs nothing: the call log is the record, and stderr is kept for real trouble."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def reply(self, status: int, headers: dict, payload: bytes):
        """The answer, with its length; a 304 has neither length nor body, a HEAD no body."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if status != 304 and self.command != "HEAD":
            self.wfile.write(payload)

    def hang_up(self, after: float = 0.0):
        """No answer: the connection is closed (after `after` seconds: a timeout), as a
        network fault would leave it. The caller returns without replying."""
        if after:
            time.sleep(after)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Calls:
    """Every call the app port answered, in order; with a file, also one JSON line each."""

    def __init__(self, path: str | None):
        self.lock = threading.Lock()
        self.items: list[dict] = []
        self.file = open(path, "a", encoding="utf-8") if path else None

    def add(self, call: dict):
        with self.lock:
            self.items.append(call)
            if self.file:
                self.file.write(json.dumps(call) + "\n")
                self.file.flush()

    def list(self) -> list[dict]:
        with self.lock:
            return list(self.items)

    def clear(self):
        with self.lock:
            self.items.clear()


class Faults:
    """The faults a test queued, each for `count` calls matching its method and path.

    An app names its kinds (KINDS), what an entry holds (`entry`) and which calls
    it matches (`matches`); the queue is the same for all. A spent fault stays in
    the queue with count 0 unless DROP_SPENT (it then leaves the queue)."""

    KINDS: frozenset[str] = frozenset()
    DROP_SPENT = False

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: list[dict] = []

    def entry(self, fault: dict, kind: str) -> dict:
        """The queued entry of a fault the test asked for (its kind already checked)."""
        raise NotImplementedError

    def matches(self, fault: dict, method: str, path: str) -> bool:
        if fault["method"] and fault["method"] != method:
            return False
        return not (fault["path_prefix"] and not path.startswith(fault["path_prefix"]))

    def add(self, fault: dict) -> dict:
        kind = str(fault.get("kind", ""))
        if kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(self.KINDS)}")
        entry = self.entry(fault, kind)
        with self.lock:
            self.pending.append(entry)
        return entry

    def take(self, method: str, path: str) -> dict | None:
        """The first queued fault for this call, counted down; None: answer normally."""
        with self.lock:
            for fault in self.pending:
                if fault["count"] <= 0 and not self.DROP_SPENT:
                    continue
                if not self.matches(fault, method, path):
                    continue
                fault["count"] -= 1
                if self.DROP_SPENT and fault["count"] <= 0:
                    self.pending.remove(fault)
                return dict(fault)
            return None

    def put_back(self, fault: dict) -> None:
        """A taken fault whose call the app refused before handling it (a rate
        limit, a missing scope): it was not met, so the next matching call meets it."""
        with self.lock:
            for entry in self.pending:
                if {k: v for k, v in entry.items() if k != "count"} == {k: v for k, v in fault.items() if k != "count"}:
                    entry["count"] += 1
                    return
            self.pending.insert(0, dict(fault, count=1))

    def listing(self) -> list[dict]:
        with self.lock:
            return list(self.pending)


class AdminHandler(QuietHandler):
    """The admin port: plain JSON, not the app's API.

    Shared routes: GET /calls, DELETE /calls, GET /faults and POST /faults. An
    app adds its own in `get`, `post` and `delete`, each answering (status, body),
    or None when it has no such route (404). A POST whose body is not what the
    route needs (a KeyError, ValueError or TypeError) answers 400."""

    standin = None  # set by serve(): the app's state, with .calls and .faults

    def answer(self, status: int, body):
        self.reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def read_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        value = json.loads(self.rfile.read(length))
        if not isinstance(value, dict):
            raise ValueError("the body must be a JSON object")
        return value

    def get(self, path: str) -> tuple[int, object] | None:
        return None

    def post(self, path: str, body: dict) -> tuple[int, object] | None:
        return None

    def delete(self, path: str) -> tuple[int, object] | None:
        return None

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/calls":
            return self.answer(200, self.standin.calls.list())
        if path == "/faults":
            return self.answer(200, self.standin.faults.listing())
        self.answer(*(self.get(path) or (404, {"message": f"no admin route GET {path}"})))

    def do_DELETE(self):
        path = urlsplit(self.path).path
        if path == "/calls":
            self.standin.calls.clear()
            return self.answer(200, {})
        self.answer(*(self.delete(path) or (404, {"message": f"no admin route DELETE {path}"})))

    def do_POST(self):
        path = urlsplit(self.path).path
        try:
            body = self.read_json()
            if path == "/faults":
                return self.answer(201, self.standin.faults.add(body))
            answered = self.post(path, body)
        except (KeyError, ValueError, TypeError) as e:
            return self.answer(400, {"message": f"bad admin request: {e}"})
        self.answer(*(answered or (404, {"message": f"no admin route POST {path}"})))


def arguments(description: str, api: str, admin: str, token: str) -> argparse.ArgumentParser:
    """The options every stand-in takes; the app adds its own to the parser.

    `api`: what the app port serves ("the GitHub API"); `admin`: what the admin
    port offers ("calls, state, faults, limits"); `token`: the token it accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True, help=f"the {api} port (127.0.0.1)")
    parser.add_argument("--admin-port", type=int, required=True, help=f"the admin port ({admin})")
    parser.add_argument("--token", required=True, help=token)
    parser.add_argument("--calls-file", help="also append each call as one JSON line here")
    return parser


def serve(standin, api_handler: type, admin_handler: type, port: int, admin_port: int) -> int:
    """Serves the app on `port` and the admin API on `admin_port` (both 127.0.0.1),
    prints `ready` once both listen (the test harness waits for it), and serves
    until interrupted."""
    api_class = type("Handler", (api_handler,), {"standin": standin})
    admin_class = type("Admin", (admin_handler,), {"standin": standin})
    ThreadingHTTPServer.daemon_threads = True
    api = ThreadingHTTPServer(("127.0.0.1", port), api_class)
    admin = ThreadingHTTPServer(("127.0.0.1", admin_port), admin_class)
    threading.Thread(target=admin.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
