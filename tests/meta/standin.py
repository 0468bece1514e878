#!/usr/bin/env python3
"""A Meta Business Manager stand-in (Graph API) for the Meta connector's tests.

It serves, on loopback, the part of Meta's Graph API the connector uses, for one
business, as Meta's published reference describes it (the examples it was
written from are in tests/meta/examples/, each with the page and section it
came from; check_examples.py holds its answers to their shapes):

    GET            /{version}/{business_id}                      the business (id, name)
    GET, POST      /{version}/{business_id}/business_users       people (POST: invite by email and role)
    GET            /{version}/{business_id}/pending_users        invitations (BusinessRoleRequest)
    GET            /{version}/{business_id}/system_users         machines
    GET            /{version}/{business_id}/owned_ad_accounts, owned_pages, owned_product_catalogs
    GET            /{version}/{business_id}/agencies             partner businesses
    POST, DELETE   /{version}/{business_user_id}                 role update, removal
    POST, DELETE   /{version}/{pending_user_id}                  invitation role update, revocation
    GET,POST,DELETE /{version}/{asset_id}/assigned_users          people on an asset (business=, user+tasks, user)
    GET,POST,DELETE /{version}/{asset_id}/agencies                partners on an asset (business+permitted_tasks, business)

Every answer carries the usage headers (`X-App-Usage`, and
`X-Business-Use-Case-Usage` keyed by the business id) computed from a call
budget per window; a call over the budget is refused with the throttling error
(code 4 unless told otherwise) and `estimated_time_to_regain_access` (minutes, as
Meta words it) in the header. Lists are paged with cursors
(`paging.cursors.after`, `paging.next`). Every call is recorded.

A second port (the admin port, plain JSON, not Meta's API) lets a test read the
calls and the state, and act as the world: an invitee accepting or declining,
an invitation expiring, an asset disappearing, a partner sharing assets, a
token losing `business_management`, faults (5xx, timeouts, throttling).

    python3 tests/meta/standin.py --port P --admin-port A --business 1000 --token T

It prints `ready` on stdout once both ports listen on 127.0.0.1. Standard
library only. See tests/meta/README.md.
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from standin_kit import AdminHandler, Calls, Faults, QuietHandler, arguments, serve  # noqa: E402

# The one Graph API version served (the connector pins the same one:
# GRAPH_API_VERSION in src/connector/meta/client.rs).
GRAPH_API_VERSION = "v25.0"
INVITATION_LIFETIME = 7 * 24 * 3600
DEFAULT_PAGE = 25
MAX_PAGE = 100

# Business roles (BusinessUser.Role in Meta's Business SDK).
BUSINESS_ROLES = {
    "ADMIN", "ADS_RIGHTS_REVIEWER", "DEFAULT", "DEVELOPER", "EMPLOYEE", "FINANCE_ANALYST", "FINANCE_EDIT",
    "FINANCE_EDITOR", "FINANCE_VIEW", "MANAGE", "PARTNER_CENTER_ADMIN", "PARTNER_CENTER_ANALYST",
    "PARTNER_CENTER_EDUCATION", "PARTNER_CENTER_MARKETING", "PARTNER_CENTER_OPERATIONS",
}
# Tasks each asset kind takes (AdAccount.Tasks, Page.Tasks, ProductCatalog.Tasks; the ones rolecall uses and their neighbours).
ASSET_TASKS = {
    "ad_account": {"MANAGE", "ADVERTISE", "ANALYZE", "DRAFT", "AA_ANALYZE"},
    "page": {"MANAGE", "CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE", "MESSAGING", "MANAGE_LEADS"},
    "catalog": {"MANAGE", "ADVERTISE", "MANAGE_AR", "AA_ANALYZE"},
}
OWNED_EDGES = {"owned_ad_accounts": "ad_account", "owned_pages": "page", "owned_product_catalogs": "catalog"}
THROTTLE_CODES = {4, 17, 32, 613} | set(range(80000, 80015))
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}
NEEDED_PERMISSION = "business_management"
FAULT_KINDS = {"500", "503", "timeout", "throttle"}


def graph_time(at: float) -> str:
    """Graph API datetimes: ISO 8601 with a numeric offset without a colon (`2026-12-03T10:00:00+0000`)."""
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


class GraphError(Exception):
    """An answer in Graph's error shape: {"error": {message, type, code, error_subcode?, fbtrace_id}}."""

    def __init__(self, status: int, code: int, message: str, subcode: int | None = None, kind: str = "OAuthException", counted: bool = True):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.subcode = subcode
        self.kind = kind
        self.counted = counted

    def body(self) -> dict:
        error = {"message": self.message, "type": self.kind, "code": self.code, "fbtrace_id": uuid.uuid4().hex[:11]}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


def no_such_object(node: str, method: str) -> GraphError:
    verb = {"GET": "get", "POST": "post", "DELETE": "delete"}.get(method, method.lower())
    return GraphError(
        400,
        100,
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, "
        "or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        kind="GraphMethodException",
    )


def invalid_parameter(message: str) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}")


# ----------------------------------------------------------------------------
# The business
# ----------------------------------------------------------------------------


class Business:
    """One business: its people, invitations, machines, assets and partners. Every method holds the lock."""

    def __init__(self, business_id: str, name: str):
        self.lock = threading.RLock()
        self.id = business_id
        self.name = name
        self._next = 9_100_000_000_000
        self.users: dict[str, dict] = {}  # business user id -> {id, name, email, role}
        self.invitations: dict[str, dict] = {}  # role request id -> {id, email, role, status, created, expires, updated}
        self.system_users: dict[str, dict] = {}
        self.assets: dict[str, dict] = {}  # node id -> {id, kind, name, account_id?, users: {uid: [tasks]}, agencies: {bid: [tasks]}}
        self.gone_assets: set[str] = set()
        self.partners: dict[str, dict] = {}  # business id -> {id, name}

    def new_id(self) -> str:
        with self.lock:
            self._next += 1
            return str(self._next)

    def add_user(self, name: str, email: str, role: str) -> dict:
        with self.lock:
            user = {"id": self.new_id(), "name": name, "email": email, "role": role}
            self.users[user["id"]] = user
            return user

    def add_system_user(self, name: str, role: str) -> dict:
        with self.lock:
            user = {"id": self.new_id(), "name": name, "role": role}
            self.system_users[user["id"]] = user
            return user

    def add_asset(self, kind: str, name: str) -> dict:
        if kind not in ASSET_TASKS:
            raise ValueError(f"kind is one of {sorted(ASSET_TASKS)}")
        with self.lock:
            number = self.new_id()
            node = f"act_{number}" if kind == "ad_account" else number
            asset = {"id": node, "kind": kind, "name": name, "users": {}, "agencies": {}}
            if kind == "ad_account":
                asset["account_id"] = number
            self.assets[node] = asset
            return asset

    def add_partner(self, name: str, partner_id: str | None, assets: dict) -> dict:
        with self.lock:
            partner = {"id": partner_id or self.new_id(), "name": name}
            self.partners[partner["id"]] = partner
            for node, tasks in (assets or {}).items():
                asset = self.assets.get(node)
                if asset is None:
                    raise ValueError(f"no asset {node}")
                asset["agencies"][partner["id"]] = list(tasks)
            return partner

    def invite(self, email: str, role: str, tasks: list) -> dict:
        with self.lock:
            now = time.time()
            request = {
                "id": self.new_id(),
                "email": email,
                "role": role,
                "tasks": list(tasks or []),
                "status": "PENDING",
                "created": now,
                "updated": now,
                "expires": now + INVITATION_LIFETIME,
            }
            self.invitations[request["id"]] = request
            return request

    def settle(self, request_id: str, action: str, name: str | None) -> dict:
        """An invitee accepts or declines, or the invitation expires."""
        with self.lock:
            request = self.invitations.get(request_id)
            if request is None or request["status"] != "PENDING":
                raise KeyError(request_id)
            now = time.time()
            if action == "accept":
                del self.invitations[request_id]
                local = request["email"].split("@")[0]
                return self.add_user(name or local.capitalize(), request["email"], request["role"])
            request["status"] = "DECLINED" if action == "decline" else "EXPIRED"
            request["updated"] = now
            if action == "expire":
                request["expires"] = now
            return dict(request)

    def asset(self, node: str, method: str) -> dict:
        asset = self.assets.get(node)
        if asset is None:
            raise no_such_object(node, method)
        return asset

    def state(self) -> dict:
        with self.lock:
            return {
                "business": {"id": self.id, "name": self.name},
                "business_users": sorted(self.users.values(), key=lambda u: u["id"]),
                "pending_users": [
                    {"id": r["id"], "email": r["email"], "role": r["role"], "status": r["status"], "expiration_time": graph_time(r["expires"])}
                    for r in sorted(self.invitations.values(), key=lambda r: r["id"])
                ],
                "system_users": sorted(self.system_users.values(), key=lambda u: u["id"]),
                "assets": [
                    {
                        "id": a["id"],
                        "kind": a["kind"],
                        "name": a["name"],
                        "users": {k: list(v) for k, v in a["users"].items()},
                        "agencies": {k: list(v) for k, v in a["agencies"].items()},
                    }
                    for a in self.assets.values()
                ],
                "gone_assets": sorted(self.gone_assets),
                "partners": sorted(self.partners.values(), key=lambda p: p["id"]),
            }


# ----------------------------------------------------------------------------
# Usage and throttling
# ----------------------------------------------------------------------------


class Usage:
    """A budget of calls per window (Meta's windows are an hour; tests shorten it),
    reported as percentages in the usage headers; over the budget, calls are
    refused until the window has room again, and the header says how long (minutes)."""

    def __init__(self, budget: int, window: float, throttle_code: int, buc_type: str):
        self.lock = threading.Lock()
        self.budget = budget
        self.window = window
        self.throttle_code = throttle_code
        self.buc_type = buc_type
        self.calls: collections.deque = collections.deque()
        # Percent added to every figure (a test sets the app "near 100 %" without making the calls).
        self.baseline = 0
        # While set, every call is refused as throttled until this time (a throttle fault).
        self.blocked_until = 0.0
        self.blocked_code = throttle_code

    def _forget(self, now: float):
        while self.calls and self.calls[0] <= now - self.window:
            self.calls.popleft()

    def percent(self, now: float) -> int:
        self._forget(now)
        return min(100, int(100 * len(self.calls) / max(1, self.budget)) + self.baseline)

    def regain_minutes(self, now: float) -> int:
        """Minutes until a call is allowed again, rounded up (Meta's unit)."""
        wait = 0.0
        if self.blocked_until > now:
            wait = self.blocked_until - now
        elif self.percent(now) >= 100 and self.calls:
            wait = self.calls[0] + self.window - now
        return 0 if wait <= 0 else max(1, int((wait + 59.999) // 60))

    def admit(self, now: float):
        """Counts a call, or refuses it as throttled (a refused call is not counted)."""
        with self.lock:
            if self.blocked_until > now:
                raise self.throttled(self.blocked_code)
            if self.percent(now) >= 100:
                raise self.throttled(self.throttle_code)
            self.calls.append(now)

    def throttled(self, code: int) -> GraphError:
        message = THROTTLE_MESSAGES.get(code, f"(#{code}) There have been too many calls from this business. Wait a bit and try again.")
        return GraphError(400, code, message, kind="OAuthException", counted=False)

    def headers(self, business_id: str, now: float) -> dict:
        with self.lock:
            pct = self.percent(now)
            regain = self.regain_minutes(now)
            if self.blocked_until > now:
                pct = 100
            figures = {"call_count": pct, "total_cputime": max(0, pct // 4), "total_time": max(0, pct // 3)}
            buc = {business_id: [dict(type=self.buc_type, estimated_time_to_regain_access=regain, **figures)]}
            return {"X-App-Usage": json.dumps(figures), "X-Business-Use-Case-Usage": json.dumps(buc)}

    def block(self, seconds: float, code: int):
        with self.lock:
            self.blocked_until = max(self.blocked_until, time.time() + seconds)
            self.blocked_code = code

    def set(self, changes: dict) -> dict:
        with self.lock:
            if "budget" in changes:
                self.budget = int(changes["budget"])
            if "window" in changes:
                self.window = float(changes["window"])
            if "baseline" in changes:
                self.baseline = int(changes["baseline"])
            if "throttle_code" in changes:
                self.throttle_code = int(changes["throttle_code"])
            if changes.get("clear"):
                self.calls.clear()
                self.blocked_until = 0.0
            return self.describe()

    def describe(self) -> dict:
        now = time.time()
        return {
            "budget": self.budget,
            "window": self.window,
            "baseline": self.baseline,
            "throttle_code": self.throttle_code,
            "calls_in_window": len(self.calls),
            "percent": self.percent(now),
            "blocked_until": self.blocked_until,
        }


class GraphFaults(Faults):
    KINDS = frozenset(FAULT_KINDS)

    def entry(self, fault: dict, kind: str) -> dict:
        code = int(fault.get("code", 4))
        if kind == "throttle" and code not in THROTTLE_CODES:
            raise ValueError(f"a throttle's code is one of 4, 17, 32, 613, 80000-80014, not {code}")
        return {
            "kind": kind,
            "count": int(fault.get("count", 1)),
            "method": (fault.get("method") or "").upper() or None,
            "path_contains": fault.get("path_contains") or None,
            # throttle: refuse every call this long (what estimated_time_to_regain_access announces, in minutes).
            "regain_seconds": float(fault.get("regain_seconds", 60)),
            "code": code,
            # timeout: how long the answer is held before the connection is closed.
            "delay": float(fault.get("delay", 10)),
        }

    def matches(self, fault: dict, method: str, path: str) -> bool:
        if fault["method"] and fault["method"] != method:
            return False
        return not (fault["path_contains"] and fault["path_contains"] not in path)


# ----------------------------------------------------------------------------
# The Graph API
# ----------------------------------------------------------------------------


def task_list(value, what: str) -> list[str]:
    """A list parameter as Graph takes it in a form or query: a JSON array (`["MANAGE","ANALYZE"]`)."""
    if isinstance(value, list):
        items = value
    else:
        try:
            items = json.loads(value)
        except (TypeError, ValueError):
            raise invalid_parameter(f"Param {what} must be an array.")
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise invalid_parameter(f"Param {what} must be an array.")
    return items


def fields_of(params: dict, default: list[str]) -> list[str]:
    fields = params.get("fields")
    return [f.strip() for f in fields.split(",") if f.strip()] if fields else default


def pick(node: dict, fields: list[str]) -> dict:
    out = {"id": node["id"]}
    for f in fields:
        if f in node:
            out[f] = node[f]
    return out


class Graph:
    """The operations, each answering (status, body) from the business."""

    def __init__(self, business: Business, args):
        self.business = business
        self.args = args

    def page(self, items: list, params: dict, base: str, path: str) -> tuple[int, dict]:
        """Cursor paging: `after` is the opaque cursor of the last item returned."""
        try:
            limit = max(1, min(self.args.max_page, int(params.get("limit", self.args.page_size))))
        except ValueError:
            raise invalid_parameter("Param limit must be a number")
        start = 0
        after = params.get("after")
        if after:
            try:
                start = int(bytes.fromhex(after).decode()) + 1
            except ValueError:
                raise invalid_parameter("Invalid cursor")
        chunk = items[start : start + limit]
        body: dict = {"data": chunk}
        if chunk:
            cursors = {"before": str(start).encode().hex(), "after": str(start + len(chunk) - 1).encode().hex()}
            paging: dict = {"cursors": cursors}
            if start + limit < len(items):
                query = {k: v for k, v in params.items() if k not in ("after", "before", "access_token")}
                query.update({"limit": str(limit), "after": cursors["after"]})
                paging["next"] = f"{base}/{GRAPH_API_VERSION}{path}?{urlencode(query)}"
            body["paging"] = paging
        return 200, body

    def handle(self, method: str, nodes: list[str], params: dict, base: str, path: str) -> tuple[int, dict]:
        b = self.business
        with b.lock:
            node = nodes[0]
            edge = nodes[1] if len(nodes) > 1 else None
            if len(nodes) > 2:
                raise GraphError(400, 2500, "Unknown path components: /" + "/".join(nodes[2:]), kind="OAuthException")
            if node == b.id:
                return self.on_business(method, edge, params, base, path)
            if node in b.gone_assets:
                raise no_such_object(node, method)
            if node in b.assets:
                return self.on_asset(method, b.assets[node], edge, params, base, path)
            if edge is None and node in b.users:
                return self.on_business_user(method, b.users[node], params)
            if edge is None and node in b.invitations:
                return self.on_invitation(method, b.invitations[node], params)
            raise no_such_object(node, method)

    # -- /{business_id}/... ------------------------------------------------------

    def on_business(self, method, edge, params, base, path):
        b = self.business
        if edge is None and method == "GET":
            return 200, pick({"id": b.id, "name": b.name}, fields_of(params, ["name"]))
        if edge == "business_users" and method == "GET":
            fields = fields_of(params, ["name", "role"])
            users = [pick(u, fields) for u in sorted(b.users.values(), key=lambda u: u["id"])]
            return self.page(users, params, base, path)
        if edge == "business_users" and method == "POST":
            return self.invite(params)
        if edge == "pending_users" and method == "GET":
            fields = fields_of(params, ["email", "role", "status"])
            wanted = (params.get("email") or "").lower()
            requests = [
                pick(self.role_request(r), fields)
                for r in sorted(b.invitations.values(), key=lambda r: r["id"])
                if not wanted or r["email"].lower() == wanted
            ]
            return self.page(requests, params, base, path)
        if edge == "system_users" and method == "GET":
            fields = fields_of(params, ["name", "role"])
            return self.page([pick(u, fields) for u in sorted(b.system_users.values(), key=lambda u: u["id"])], params, base, path)
        if edge in OWNED_EDGES and method == "GET":
            kind = OWNED_EDGES[edge]
            fields = fields_of(params, ["name"] + (["account_id"] if kind == "ad_account" else []))
            assets = [pick(a, fields) for a in self.business.assets.values() if a["kind"] == kind]
            return self.page(assets, params, base, path)
        if edge == "agencies" and method == "GET":
            fields = fields_of(params, ["name"])
            return self.page([pick(p, fields) for p in sorted(b.partners.values(), key=lambda p: p["id"])], params, base, path)
        raise no_such_object(f"{b.id}/{edge}" if edge else b.id, method)

    def role_request(self, r: dict) -> dict:
        return {
            "id": r["id"],
            "email": r["email"],
            "role": r["role"],
            "tasks": r["tasks"],
            "status": r["status"],
            "created_time": graph_time(r["created"]),
            "updated_time": graph_time(r["updated"]),
            "expiration_time": graph_time(r["expires"]),
        }

    def invite(self, params):
        b = self.business
        email = params.get("email")
        role = params.get("role")
        if not isinstance(email, str) or "@" not in email:
            raise invalid_parameter("Param email must be a valid email address")
        if role not in BUSINESS_ROLES:
            raise invalid_parameter(f"Param role must be one of {{{', '.join(sorted(BUSINESS_ROLES))}}}")
        tasks = task_list(params["tasks"], "tasks") if "tasks" in params else []
        if any(u["email"].lower() == email.lower() for u in b.users.values()):
            raise GraphError(400, 100, "(#100) The user is already a member of this business", subcode=1752041)
        for r in list(b.invitations.values()):
            if r["email"].lower() == email.lower():
                if r["status"] == "PENDING":
                    raise GraphError(400, 100, "(#100) The user has already been invited to this business", subcode=1752042)
                # A new invitation replaces an expired or declined one.
                del b.invitations[r["id"]]
        request = b.invite(email, role, tasks)
        return 200, {"id": request["id"]}

    # -- /{business_user_id}, /{pending_user_id} ------------------------------------

    def on_business_user(self, method, user, params):
        b = self.business
        if method == "GET":
            return 200, pick(user, fields_of(params, ["name", "email", "role"]))
        if method == "POST":
            role = params.get("role")
            if role is not None:
                if role not in BUSINESS_ROLES:
                    raise invalid_parameter("Param role is not a business role")
                user["role"] = role
            return 200, {"success": True}
        if method == "DELETE":
            del b.users[user["id"]]
            # Removing a person from the business takes their access to its assets away.
            for asset in b.assets.values():
                asset["users"].pop(user["id"], None)
            return 200, {"success": True}
        raise no_such_object(user["id"], method)

    def on_invitation(self, method, request, params):
        b = self.business
        if method == "GET":
            return 200, pick(self.role_request(request), fields_of(params, ["email", "role", "status"]))
        if method == "POST":
            role = params.get("role")
            if role not in BUSINESS_ROLES:
                raise invalid_parameter("Param role is not a business role")
            request["role"] = role
            request["updated"] = time.time()
            return 200, {"success": True}
        if method == "DELETE":
            del b.invitations[request["id"]]
            return 200, {"success": True}
        raise no_such_object(request["id"], method)

    # -- /{asset_id}/... -----------------------------------------------------------

    def on_asset(self, method, asset, edge, params, base, path):
        b = self.business
        allowed = ASSET_TASKS[asset["kind"]]
        if edge is None and method == "GET":
            return 200, pick(asset, fields_of(params, ["name"]))
        if edge == "assigned_users":
            if method == "GET":
                if params.get("business") != b.id:
                    raise invalid_parameter("The parameter business is required" if "business" not in params else "Param business is not this asset's business")
                rows = []
                for uid, tasks in asset["users"].items():
                    person = b.users.get(uid) or b.system_users.get(uid)
                    if person is None:
                        continue
                    user_type = "SYSTEM_USER" if uid in b.system_users else "BUSINESS_USER"
                    rows.append({"id": uid, "name": person["name"], "tasks": list(tasks), "permitted_tasks": list(tasks), "user_type": user_type, "business": {"id": b.id, "name": b.name}})
                fields = fields_of(params, ["name", "tasks"])
                return self.page([pick(r, fields) for r in rows], params, base, path)
            user = str(params.get("user", ""))
            if not user.isdigit():
                raise invalid_parameter("Param user must be a valid ID")
            if user not in b.users and user not in b.system_users:
                raise invalid_parameter(f"The user {user} is not a member of the business that owns this asset")
            if method == "POST":
                tasks = task_list(params.get("tasks"), "tasks")
                unknown = [t for t in tasks if t not in allowed]
                if unknown or not tasks:
                    raise invalid_parameter(f"Param tasks[0] must be one of {{{', '.join(sorted(allowed))}}}")
                asset["users"][user] = tasks
                return 200, {"success": True}
            if method == "DELETE":
                asset["users"].pop(user, None)
                return 200, {"success": True}
        if edge == "agencies":
            if method == "GET":
                rows = [
                    {"id": pid, "name": b.partners.get(pid, {}).get("name", pid), "permitted_tasks": list(tasks), "access_status": "CONFIRMED"}
                    for pid, tasks in asset["agencies"].items()
                ]
                fields = fields_of(params, ["name", "permitted_tasks"])
                return self.page([pick(r, fields) for r in rows], params, base, path)
            partner = str(params.get("business", ""))
            if not partner.isdigit():
                raise invalid_parameter("Param business must be a valid ID")
            if method == "POST":
                tasks = task_list(params.get("permitted_tasks"), "permitted_tasks")
                unknown = [t for t in tasks if t not in allowed]
                if unknown or not tasks:
                    raise invalid_parameter(f"Param permitted_tasks[0] must be one of {{{', '.join(sorted(allowed))}}}")
                b.partners.setdefault(partner, {"id": partner, "name": f"Business {partner}"})
                asset["agencies"][partner] = tasks
                return 200, {"success": True}
            if method == "DELETE":
                if partner not in asset["agencies"]:
                    raise invalid_parameter(f"The business {partner} has no access to this asset")
                del asset["agencies"][partner]
                return 200, {"success": True}
        raise no_such_object(f"{asset['id']}/{edge}" if edge else asset["id"], method)


# ----------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------


class StandIn:
    def __init__(self, args):
        self.args = args
        self.business = Business(args.business, args.business_name)
        self.graph = Graph(self.business, args)
        self.usage = Usage(args.budget, args.window, args.throttle_code, args.buc_type)
        self.faults = GraphFaults()
        self.calls = Calls(args.calls_file)
        self.permissions = {"business_management", "ads_management", "pages_show_list"}


class GraphHandler(QuietHandler):
    standin: StandIn

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_DELETE(self):
        self.serve("DELETE")

    def read_params(self) -> tuple[dict, dict]:
        """Query parameters, and the body's: Graph takes parameters in the query, a
        form body, or a JSON body alike."""
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: dict = {}
        if raw:
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type == "application/json":
                value = json.loads(raw)
                body = {k: (json.dumps(v) if isinstance(v, list) else v) for k, v in value.items()} if isinstance(value, dict) else {}
            else:
                body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        return query, body

    def token(self, params: dict) -> str:
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token:
            return token
        return params.get("access_token", "")

    def serve(self, method: str):
        s = self.standin
        started = time.time()
        split = urlsplit(self.path)
        query, form = self.read_params()
        params = {**query, **form}
        parts = [p for p in split.path.split("/") if p]
        version = parts[0] if parts else ""
        nodes = parts[1:]
        path = "/" + "/".join(nodes)
        call = {
            "method": method,
            "path": path,
            "version": version,
            "query": {k: v for k, v in query.items() if k != "access_token"},
            "params": {k: v for k, v in form.items() if k != "access_token"},
            "at": started,
            "status": 0,
            "code": None,
            "fault": None,
            "call_count": None,
        }
        host = self.headers.get("Host") or f"127.0.0.1:{s.args.port}"
        base = f"http://{host}"
        fault = None
        status, body = 200, {}
        try:
            if version != GRAPH_API_VERSION:
                raise GraphError(400, 2635, f"(#2635) This stand-in serves Graph API {GRAPH_API_VERSION} only, not {version!r}", counted=False)
            if not nodes:
                raise GraphError(400, 100, "(#100) Missing node", counted=False)
            if self.token(params) != s.args.token:
                raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token", counted=False)
            fault = s.faults.take(method, path)
            if fault:
                call["fault"] = fault["kind"]
                if fault["kind"] == "throttle":
                    s.usage.block(fault["regain_seconds"], fault["code"])
            s.usage.admit(started)
            if NEEDED_PERMISSION not in s.permissions:
                raise GraphError(403, 200, f"(#200) Requires {NEEDED_PERMISSION} permission to manage the object")
            if fault and fault["kind"] in ("500", "503", "timeout"):
                # The call reached Meta and may or may not have happened; it did not.
                pass
            else:
                status, body = s.graph.handle(method, nodes, params, base, path)
        except GraphError as e:
            status, body = e.status, e.body()
            call["code"] = e.code
        except (KeyError, ValueError) as e:
            status, body = 400, GraphError(400, 100, f"(#100) {e}").body()
            call["code"] = 100

        if fault and fault["kind"] == "500":
            status, body = 500, GraphError(500, 2, "An unexpected error has occurred. Please retry your request later.").body()
            call["code"] = 2
        headers = {"Content-Type": "application/json; charset=UTF-8", "x-fb-trace-id": uuid.uuid4().hex[:11], "facebook-api-version": GRAPH_API_VERSION}
        headers.update(s.usage.headers(s.business.id, time.time()))
        call["call_count"] = json.loads(headers["X-App-Usage"])["call_count"]
        payload = json.dumps(body).encode()
        if fault and fault["kind"] == "503":
            status, payload = 503, b"<html><body>Service Unavailable</body></html>"
            headers["Content-Type"] = "text/html"
        call["status"] = status if not (fault and fault["kind"] == "timeout") else 0
        call["duration"] = time.time() - started
        s.calls.add(call)

        if fault and fault["kind"] == "timeout":
            return self.hang_up(after=fault["delay"])
        self.reply(status, headers, payload)


class MetaAdmin(AdminHandler):
    standin: StandIn

    def get(self, path: str):
        s = self.standin
        if path == "/state":
            return 200, s.business.state()
        if path == "/usage":
            return 200, s.usage.describe()
        if path == "/token":
            return 200, {"permissions": sorted(s.permissions)}
        return None

    def post(self, path: str, body: dict):
        try:
            return self.world(path, body)
        except GraphError as e:
            return 400, e.body()

    def world(self, path: str, body: dict):
        s = self.standin
        b = s.business
        if path == "/business_users":
            role = str(body.get("role", "EMPLOYEE"))
            if role not in BUSINESS_ROLES:
                raise ValueError(f"role {role!r} is not a business role")
            user = b.add_user(str(body["name"]), str(body["email"]), role)
            for node, tasks in (body.get("assets") or {}).items():
                b.asset(node, "POST")["users"][user["id"]] = list(tasks)
            return 201, user
        if path == "/system_users":
            user = b.add_system_user(str(body["name"]), str(body.get("role", "ADMIN")))
            for node, tasks in (body.get("assets") or {}).items():
                b.asset(node, "POST")["users"][user["id"]] = list(tasks)
            return 201, user
        if path == "/assets":
            asset = b.add_asset(str(body["kind"]), str(body["name"]))
            return 201, {"id": asset["id"], "kind": asset["kind"], "name": asset["name"]}
        if path == "/partners":
            return 201, b.add_partner(str(body["name"]), body.get("id"), body.get("assets") or {})
        match = re.fullmatch(r"/pending_users/(\d+)/(accept|decline|expire)", path)
        if match:
            try:
                return 200, b.settle(match.group(1), match.group(2), body.get("name"))
            except KeyError:
                return 404, {"message": f"no pending invitation {match.group(1)}"}
        match = re.fullmatch(r"/assets/([\w]+)/disappear", path)
        if match:
            with b.lock:
                if b.assets.pop(match.group(1), None) is None:
                    return 404, {"message": f"no asset {match.group(1)}"}
                b.gone_assets.add(match.group(1))
            return 200, {"id": match.group(1)}
        if path == "/token":
            s.permissions = set(body.get("permissions", []))
            return 200, {"permissions": sorted(s.permissions)}
        if path == "/usage":
            return 200, s.usage.set(body)
        return None


def main() -> int:
    parser = arguments(
        "Meta Business Manager (Graph API) stand-in", "the Graph API", "calls, state, faults, usage", "the one system user token the API accepts"
    )
    parser.add_argument("--business", default="1000000000001", help="the business id")
    parser.add_argument("--business-name", default="Acme Ads")
    parser.add_argument("--budget", type=int, default=1000, help="calls per --window before throttling")
    parser.add_argument("--window", type=float, default=3600.0, help="the usage window in seconds (Meta: an hour)")
    parser.add_argument("--throttle-code", type=int, default=4, help="the error code of a call over the budget")
    parser.add_argument("--buc-type", default="ads_management", help="the `type` in X-Business-Use-Case-Usage")
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE, help="items per page when the request names no limit")
    parser.add_argument("--max-page", type=int, default=MAX_PAGE, help="the most items a page holds whatever `limit` asks (Meta caps it per edge)")
    args = parser.parse_args()
    if not args.business.isdigit():
        parser.error("--business is a numeric business id")

    return serve(StandIn(args), GraphHandler, MetaAdmin, args.port, args.admin_port)


if __name__ == "__main__":
    sys.exit(main())
