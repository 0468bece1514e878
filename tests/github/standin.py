#!/usr/bin/env python3
"""A GitHub stand-in for the GitHub connector's tests.

It serves only the operations of GitHub's published OpenAPI description that
are vendored in openapi/api.github.com.subset.json (see vendor_openapi.py),
from one in-memory organisation, and validates every request it receives and
every response it returns against that description (openapi-core). It
enforces GitHub's limits (primary, secondary, the daily invitation cap),
answers conditional requests, pages with `Link`, can inject faults, and
records every call. A second port (the admin port, plain JSON, not GitHub's
API) lets a test read the calls and the state and act as the people GitHub
would wait for: an invitee accepting, an invitation failing or expiring.

    .venv/bin/python tests/github/standin.py --port P --admin-port A --org acme --token T

It prints `ready` on stdout once both ports listen on 127.0.0.1.
See tests/github/README.md.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import math
import os
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30ReadValidator, OAS30Validator, oas30_format_checker
from werkzeug.datastructures import Headers, ImmutableMultiDict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from standin_kit import AdminHandler, Calls, Faults, QuietHandler, arguments, serve  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DESCRIPTION = os.path.join(HERE, "openapi", "api.github.com.subset.json")
API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
DOCS = "https://docs.github.com/rest"
EXPIRED_REASON = "Invitation expired. User did not accept this invite for 7 days."
PRIMARY_MESSAGE = (
    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
    "please include the request ID {request_id} and timestamp {timestamp}."
)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
USER_AGENT_MESSAGE = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header "
    "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). "
    "Check https://developer.github.com for other possible causes."
)
# Statuses GitHub may answer on any operation (authentication, limits, conditional
# requests, outages) although the description lists them per operation only
# sometimes. When an operation does not list one, its body is checked against
# `basic-error` (304: no body) and the call says so (`response_checked: generic`).
GENERIC_STATUSES = {304, 401, 403, 404, 429, 500, 502, 503}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FAULT_KINDS = {"429", "403-primary", "403-secondary", "403-secondary-no-header", "500", "502", "timeout", "drop", "malformed"}


def now_iso(at: float | None = None) -> str:
    return datetime.fromtimestamp(at if at is not None else time.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def reset_at(moment: float) -> int:
    """GitHub announces the reset as a whole second (`x-ratelimit-reset`), and the stand-in
    resets exactly then, so a client that waits until the announced second is served."""
    return math.ceil(moment)


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class Refused(Exception):
    """An answer decided before the operation runs (or instead of it)."""

    def __init__(self, status: int, body, headers: dict | None = None, counted: bool = True):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        # Whether GitHub counts the refused request against the primary limit: refusals
        # by the limits themselves and by authentication are not.
        self.counted = counted
        # Refusals by authentication and the rate limits are GitHub's answers to any
        # operation, not the operation's own (the description's 403 for a team
        # membership means "team synchronization is set up", with no body); they are
        # checked against `basic-error` whatever the operation lists.
        self.cross_cutting = not counted


def error_body(message: str, status: int) -> dict:
    return {"message": message, "documentation_url": DOCS, "status": str(status)}


def validation_failed(message: str, resource: str, field: str, code: str = "invalid") -> Refused:
    return Refused(
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "code": code, "field": field, "message": message}],
            "documentation_url": DOCS,
            "status": "422",
        },
    )


# ----------------------------------------------------------------------------
# The description: routing and validation
# ----------------------------------------------------------------------------


class _Request:
    """openapi-core's request protocol, built from what the handler read."""

    def __init__(self, method: str, path: str, query: list, headers: dict, body: bytes | None, content_type: str):
        self.method = method.lower()
        self.path = path
        self.host_url = "http://127.0.0.1"
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(list(headers.items())), cookie=ImmutableMultiDict(), path={}
        )



def describe_errors(errors) -> list[str]:
    """Readable texts for openapi-core's errors, down to each schema error."""
    out = []
    for error in errors:
        out.append(f"{type(error).__name__}: {error}".split(": (<ValidationError")[0])
        cause = error.__cause__
        depth = 0
        while cause is not None and depth < 5:
            schema_errors = getattr(cause, "schema_errors", None)
            if schema_errors:
                for e in schema_errors:
                    where = "/".join(str(p) for p in e.absolute_path) or "(body)"
                    out.append(f"  {where}: {e.message}")
            else:
                out.append(f"  {type(cause).__name__}: {cause}")
            cause = cause.__cause__
            depth += 1
    return out


class Description:
    """The vendored description: which operation a request names, and whether
    a request and a response match it."""

    def __init__(self, path: str):
        with open(path, encoding="utf-8") as f:
            self.document = json.load(f)
        self.source = self.document["x-rolecall-source"]
        self._check_refs()
        spec = json.loads(json.dumps(self.document))
        # The stand-in answers on loopback, not on api.github.com.
        spec["servers"] = [{"url": "http://127.0.0.1"}]
        # GitHub's description uses one format of its own, `timestamp` (Unix seconds, on
        # the x-ratelimit-reset header); openapi-core knows only the standard ones.
        config = Config(
            extra_format_validators={"timestamp": lambda value: isinstance(value, int) and value >= 0},
            extra_format_unmarshallers={"timestamp": lambda value: value},
        )
        self.api = OpenAPI.from_dict(spec, config=config)
        self.routes = []
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            methods = {m.upper(): op["operationId"] for m, op in item.items() if m != "parameters"}
            self.routes.append((re.compile(pattern), template, methods))
        schemas = self.document["components"]["schemas"]
        self.basic_error = OAS30Validator(schemas["basic-error"])
        self._validators: dict = {}
        self.operations = sum(len(m) for _, _, m in self.routes)

    def _check_refs(self):
        """Every `$ref` must resolve inside the subset: a subset that lost a component fails here."""
        stack = [self.document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    target = self.document
                    for part in ref[2:].split("/"):
                        if not isinstance(target, dict) or part not in target:
                            raise SystemExit(f"{DESCRIPTION}: $ref {ref} does not resolve")
                        target = target[part]
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    def route(self, method: str, path: str):
        """(template, operationId, path params) or (template, None, params) for a known path
        with another method, or (None, None, {})."""
        for pattern, template, methods in self.routes:
            match = pattern.match(path)
            if match:
                return template, methods.get(method), match.groupdict()
        return None, None, {}

    def check_request(self, method, path, query, headers, body, content_type) -> list[str]:
        result = self.api.unmarshal_request(_Request(method, path, query, headers, body, content_type))
        return describe_errors(result.errors)

    def resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            target = self.document
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
        return node

    def _body_validator(self, schema: dict):
        """A compiled validator for one response schema, its `$ref`s resolved against the
        subset. Responses are checked with openapi-schema-validator directly (the library
        openapi-core itself validates with): openapi-core's response path also unmarshals
        every value, ~7 ms an object, too slow for pages of 100."""
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            root = {"components": self.document["components"], "allOf": [schema]}
            validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
            self._validators[key] = validator
        return validator

    def check_response(self, method, path, query, headers, status, body: bytes, response_headers, cross_cutting=False) -> tuple[list[str], str]:
        template, operation, _ = self.route(method, path)
        responses = self.document["paths"][template][method.lower()]["responses"] if operation and not cross_cutting else {}
        spec = responses.get(str(status))
        if spec is not None:
            return self._check_declared(self.resolve(spec), body, response_headers), "operation"
        if status in GENERIC_STATUSES:
            if status == 304:
                return ([] if not body else ["304 with a body"]), "generic"
            try:
                parsed = json.loads(body)
            except ValueError as e:
                return [f"body is not JSON: {e}"], "generic"
            return [f"  {e.message}" for e in self.basic_error.iter_errors(parsed)], "generic"
        return [f"status {status} is not in the description of {method} {template}"], "none"

    def _check_declared(self, spec: dict, body: bytes, response_headers: dict) -> list[str]:
        errors: list[str] = []
        lower = {k.lower(): v for k, v in response_headers.items()}
        content = spec.get("content")
        if content:
            media = lower.get("content-type", "").split(";")[0].strip()
            if media not in content:
                errors.append(f"content type {media!r} is not one of {sorted(content)}")
            elif not body:
                errors.append("the description declares a body and none was sent")
            else:
                try:
                    parsed = json.loads(body)
                except ValueError as e:
                    return [f"body is not JSON: {e}"]
                schema = content[media].get("schema", {})
                for e in sorted(self._body_validator(schema).iter_errors(parsed), key=lambda e: list(e.absolute_path)):
                    where = "/".join(str(p) for p in e.absolute_path) or "(body)"
                    errors.append(f"  {where}: {e.message}")
                    if len(errors) >= 20:
                        errors.append("  ... (more)")
                        break
        elif body:
            errors.append("the description declares no body for this status, but one was sent")
        for name, header in spec.get("headers", {}).items():
            header = self.resolve(header)
            value = lower.get(name.lower())
            if value is None:
                if header.get("required"):
                    errors.append(f"header {name} is required")
                continue
            schema = header.get("schema", {})
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    errors.append(f"header {name}: {value!r} is not an integer")
                    continue
            for e in self._body_validator(schema).iter_errors(value):
                errors.append(f"header {name}: {e.message}")
        return errors


# ----------------------------------------------------------------------------
# The organisation
# ----------------------------------------------------------------------------


class Org:
    """One organisation's members, invitations and teams. Every method holds the lock."""

    def __init__(self, login: str, teams: list[str], expose_emails: bool, owner: str):
        self.lock = threading.RLock()
        self.login = login
        self.id = 9000001
        self.created_at = now_iso()
        self.expose_emails = expose_emails
        self._next_user = 1001
        self._next_invitation = 5000001
        self._next_team = 301
        self.users: dict[str, dict] = {}  # every GitHub account the stand-in knows, by login
        self.members: dict[str, str] = {}  # login -> "member" | "admin"
        self.invitations: dict[int, dict] = {}
        self.failed: list[dict] = []
        self.teams: dict[str, dict] = {}
        self.owner = self.user(owner, None)
        for name in teams:
            self.add_team(name)

    # -- accounts and teams --------------------------------------------------

    def user(self, login: str, email: str | None) -> dict:
        with self.lock:
            known = self.users.get(login.lower())
            if known is None:
                known = {"login": login, "id": self._next_user, "email": email, "created_at": now_iso()}
                self._next_user += 1
                self.users[login.lower()] = known
            elif email and not known["email"]:
                known["email"] = email
            return known

    def add_team(self, name: str) -> dict:
        with self.lock:
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            team = {"id": self._next_team, "name": name, "slug": slug, "members": {}, "pending": {}}
            self._next_team += 1
            self.teams[slug] = team
            return team

    def team_by_id(self, team_id: int) -> dict | None:
        return next((t for t in self.teams.values() if t["id"] == team_id), None)

    def seed_member(self, login: str, email: str | None, role: str, teams: dict | None) -> dict:
        with self.lock:
            account = self.user(login, email)
            self.members[account["login"]] = role
            for slug, team_role in (teams or {}).items():
                team = self.teams.get(slug) or self.add_team(slug)
                team["members"][account["login"]] = team_role
            return account

    def login_of(self, username: str) -> str | None:
        known = self.users.get(username.lower())
        return known["login"] if known else None

    # -- invitations ----------------------------------------------------------

    def pending_for_login(self, login: str) -> dict | None:
        return next((i for i in self.invitations.values() if i["login"] and i["login"].lower() == login.lower()), None)

    def invite(self, email: str | None, login: str | None, role: str, team_ids: list[int]) -> dict:
        with self.lock:
            invitation = {
                "id": self._next_invitation,
                "login": login,
                "email": email,
                "role": role,
                "team_ids": list(team_ids),
                "created_at": now_iso(),
                "failed_at": None,
                "failed_reason": None,
            }
            self._next_invitation += 1
            self.invitations[invitation["id"]] = invitation
            return invitation

    def accept(self, invitation_id: int, login: str | None) -> dict:
        with self.lock:
            invitation = self.invitations.pop(invitation_id, None)
            if invitation is None:
                raise KeyError(invitation_id)
            if not login and not invitation["login"] and invitation["email"]:
                # Someone GitHub already knows (a member removed earlier) accepts with the same account.
                known = next((u for u in self.users.values() if (u["email"] or "").lower() == invitation["email"].lower()), None)
                login = known["login"] if known else None
            login = login or invitation["login"] or self._free_login(invitation["email"] or "user")
            account = self.user(login, invitation["email"])
            login = account["login"]
            self.members[login] = "admin" if invitation["role"] == "admin" else "member"
            for team_id in invitation["team_ids"]:
                team = self.team_by_id(team_id)
                if team is not None:
                    team["members"].setdefault(login, "member")
            for team in self.teams.values():
                role = team["pending"].pop(login, None)
                if role is not None:
                    team["members"][login] = role
            return account

    def _free_login(self, email: str) -> str:
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", email.split("@")[0]).strip("-") or "user"
        login, n = base, 1
        while login.lower() in self.users:
            n += 1
            login = f"{base}{n}"
        return login

    def fail(self, invitation_id: int, reason: str) -> dict:
        with self.lock:
            invitation = self.invitations.pop(invitation_id, None)
            if invitation is None:
                raise KeyError(invitation_id)
            invitation["failed_at"] = now_iso()
            invitation["failed_reason"] = reason
            self.failed.append(invitation)
            if invitation["login"]:
                for team in self.teams.values():
                    team["pending"].pop(invitation["login"], None)
            return invitation

    def state(self) -> dict:
        with self.lock:
            def invitation(i):
                return {k: i[k] for k in ("id", "login", "email", "role", "team_ids", "created_at", "failed_at", "failed_reason")}

            return {
                "org": self.login,
                "members": [
                    {"login": login, "email": self.users[login.lower()]["email"], "role": role, "id": self.users[login.lower()]["id"]}
                    for login, role in sorted(self.members.items())
                ],
                "invitations": [invitation(i) for i in self.invitations.values()],
                "failed_invitations": [invitation(i) for i in self.failed],
                "teams": {
                    slug: {"id": t["id"], "name": t["name"], "members": dict(t["members"]), "pending": dict(t["pending"])}
                    for slug, t in self.teams.items()
                },
            }


# ----------------------------------------------------------------------------
# Limits
# ----------------------------------------------------------------------------


class Limits:
    """GitHub's primary limit, secondary limits on writes and the invitation cap."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.primary_limit = args.primary_limit
        self.primary_window = args.primary_window
        self.primary_remaining = args.primary_limit
        self.primary_reset = reset_at(time.time() + args.primary_window)
        self.primary_status = 403
        self.secondary_per_minute = args.secondary_per_minute
        self.secondary_per_hour = args.secondary_per_hour
        self.secondary_minute = args.secondary_window
        self.writes: collections.deque = collections.deque()
        self.invitation_cap = args.invitation_cap
        self.invitation_window = args.invitation_window
        self.invitations_made: collections.deque = collections.deque()

    def _roll(self, now: float):
        if now >= self.primary_reset:
            self.primary_remaining = self.primary_limit
            self.primary_reset = reset_at(now + self.primary_window)
            self.primary_status = 403

    def headers(self) -> dict:
        with self.lock:
            self._roll(time.time())
            return {
                "x-ratelimit-limit": str(self.primary_limit),
                "x-ratelimit-remaining": str(self.primary_remaining),
                "x-ratelimit-used": str(self.primary_limit - self.primary_remaining),
                "x-ratelimit-reset": str(int(self.primary_reset)),
                "x-ratelimit-resource": "core",
            }

    def check_primary(self, request_id: str):
        with self.lock:
            now = time.time()
            self._roll(now)
            if self.primary_remaining <= 0:
                status = self.primary_status
                raise Refused(status, error_body(PRIMARY_MESSAGE.format(request_id=request_id, timestamp=now_iso(now)), status), counted=False)

    def count_primary(self):
        with self.lock:
            self._roll(time.time())
            self.primary_remaining = max(0, self.primary_remaining - 1)

    def exhaust(self, reset_in: float, status: int):
        with self.lock:
            self.primary_remaining = 0
            self.primary_reset = reset_at(time.time() + reset_in)
            self.primary_status = status

    def check_secondary(self, request_id: str):
        """Content-creating requests: at most N a minute and M an hour; a refused one is not counted."""
        with self.lock:
            now = time.time()
            hour = 3600.0
            while self.writes and self.writes[0] <= now - hour:
                self.writes.popleft()
            in_minute = [t for t in self.writes if t > now - self.secondary_minute]
            wait = None
            if len(in_minute) >= self.secondary_per_minute:
                wait = in_minute[len(in_minute) - self.secondary_per_minute] + self.secondary_minute - now
            elif len(self.writes) >= self.secondary_per_hour:
                wait = self.writes[len(self.writes) - self.secondary_per_hour] + hour - now
            if wait is not None:
                raise Refused(
                    403,
                    error_body(SECONDARY_MESSAGE.format(request_id=request_id), 403),
                    {"retry-after": str(max(1, int(wait + 0.999)))},
                    counted=False,
                )
            self.writes.append(now)

    def take_invitation(self):
        with self.lock:
            now = time.time()
            while self.invitations_made and self.invitations_made[0] <= now - self.invitation_window:
                self.invitations_made.popleft()
            if len(self.invitations_made) >= self.invitation_cap:
                raise validation_failed("Over invitation rate limit", "OrganizationInvitation", "data", "unprocessable")
            self.invitations_made.append(now)

    def set(self, changes: dict):
        with self.lock:
            now = time.time()
            if "primary_limit" in changes:
                self.primary_limit = int(changes["primary_limit"])
                self.primary_remaining = min(self.primary_remaining, self.primary_limit)
            if "primary_window" in changes:
                self.primary_window = float(changes["primary_window"])
            if "primary_remaining" in changes:
                self.primary_remaining = int(changes["primary_remaining"])
            if "primary_reset_in" in changes:
                self.primary_reset = reset_at(now + float(changes["primary_reset_in"]))
            if "primary_status" in changes:
                self.primary_status = int(changes["primary_status"])
            for name in ("secondary_per_minute", "secondary_per_hour", "invitation_cap"):
                if name in changes:
                    setattr(self, name, int(changes[name]))
            if "secondary_window" in changes:
                self.secondary_minute = float(changes["secondary_window"])
            if "invitation_window" in changes:
                self.invitation_window = float(changes["invitation_window"])
            return self.describe()

    def describe(self) -> dict:
        return {
            "primary_limit": self.primary_limit,
            "primary_remaining": self.primary_remaining,
            "primary_reset": self.primary_reset,
            "primary_window": self.primary_window,
            "primary_status": self.primary_status,
            "secondary_per_minute": self.secondary_per_minute,
            "secondary_per_hour": self.secondary_per_hour,
            "secondary_window": self.secondary_minute,
            "invitation_cap": self.invitation_cap,
            "invitation_window": self.invitation_window,
            "invitations_in_window": len(self.invitations_made),
        }


# ----------------------------------------------------------------------------
# Faults and the calls log
# ----------------------------------------------------------------------------


class GitHubFaults(Faults):
    KINDS = frozenset(FAULT_KINDS)

    def entry(self, fault: dict, kind: str) -> dict:
        return {
            "kind": kind,
            "count": int(fault.get("count", 1)),
            "method": (fault.get("method") or "").upper() or None,
            "path_prefix": fault.get("path_prefix") or None,
            # Seconds GitHub would ask the client to wait (retry-after, or the primary reset).
            "retry_after": float(fault.get("retry_after", 1)),
            "reset_in": float(fault.get("reset_in", 2)),
            # timeout: how long the answer is held before the connection is closed.
            "delay": float(fault.get("delay", 10)),
            # timeout/drop/malformed/5xx: whether the operation still happens (a write that
            # took effect although its answer was lost), the case that tests "never acts twice".
            "performed": bool(fault.get("performed", False)),
        }


class CheckedCalls(Calls):
    """The call log, which also says on stderr when a call broke the description."""

    def add(self, call: dict):
        super().add(call)
        if not (call["request_valid"] and call["response_valid"]) and not call.get("fault"):
            print(f"standin: INVALID {call['method']} {call['path']} -> {call['status']}: {call['errors']}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# GitHub's operations
# ----------------------------------------------------------------------------


class GitHub:
    """The operations, each answering (status, body, extra headers) from the org."""

    def __init__(self, org: Org, limits: Limits, app: "App | None" = None):
        self.org = org
        self.limits = limits
        self.app = app
        self.base = ""  # set per request from the Host header

    # -- bodies ---------------------------------------------------------------

    def simple_user(self, account: dict) -> dict:
        login, base = account["login"], self.base
        body = {
            "login": login,
            "id": account["id"],
            "node_id": node_id("User", account["id"]),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account['id']}?v=4",
            "gravatar_id": "",
            "url": f"{base}/users/{login}",
            "html_url": f"https://github.com/{login}",
            "followers_url": f"{base}/users/{login}/followers",
            "following_url": f"{base}/users/{login}/following{{/other_user}}",
            "gists_url": f"{base}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{base}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/users/{login}/subscriptions",
            "organizations_url": f"{base}/users/{login}/orgs",
            "repos_url": f"{base}/users/{login}/repos",
            "events_url": f"{base}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{base}/users/{login}/received_events",
            "type": "User",
            "user_view_type": "public",
            "site_admin": False,
        }
        if self.org.expose_emails:
            body["email"] = account["email"]
        else:
            body["email"] = None
        return body

    def org_simple(self) -> dict:
        o, base = self.org, self.base
        return {
            "login": o.login,
            "id": o.id,
            "node_id": node_id("Organization", o.id),
            "url": f"{base}/orgs/{o.login}",
            "repos_url": f"{base}/orgs/{o.login}/repos",
            "events_url": f"{base}/orgs/{o.login}/events",
            "hooks_url": f"{base}/orgs/{o.login}/hooks",
            "issues_url": f"{base}/orgs/{o.login}/issues",
            "members_url": f"{base}/orgs/{o.login}/members{{/member}}",
            "public_members_url": f"{base}/orgs/{o.login}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{o.id}?v=4",
            "description": "An organisation served by rolecall's GitHub stand-in",
        }

    def team_body(self, team: dict) -> dict:
        base, org = self.base, self.org.login
        return {
            "id": team["id"],
            "node_id": node_id("Team", team["id"]),
            "url": f"{base}/organizations/{self.org.id}/team/{team['id']}",
            "html_url": f"https://github.com/orgs/{org}/teams/{team['slug']}",
            "name": team["name"],
            "slug": team["slug"],
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": f"{base}/organizations/{self.org.id}/team/{team['id']}/members{{/member}}",
            "repositories_url": f"{base}/organizations/{self.org.id}/team/{team['id']}/repos",
            "type": "organization",
            "organization_id": self.org.id,
            "parent": None,
        }

    def invitation_body(self, invitation: dict) -> dict:
        return {
            "id": invitation["id"],
            "login": invitation["login"],
            "email": invitation["email"],
            "role": invitation["role"],
            "created_at": invitation["created_at"],
            "failed_at": invitation["failed_at"],
            "failed_reason": invitation["failed_reason"],
            "inviter": self.simple_user(self.org.owner),
            "team_count": len(invitation["team_ids"]),
            "node_id": node_id("OrganizationInvitation", invitation["id"]),
            "invitation_teams_url": f"{self.base}/organizations/{self.org.id}/invitations/{invitation['id']}/teams",
            "invitation_source": "member",
        }

    def membership_body(self, account: dict, state: str, role: str) -> dict:
        return {
            "url": f"{self.base}/orgs/{self.org.login}/memberships/{account['login']}",
            "state": state,
            "role": role,
            "organization_url": f"{self.base}/orgs/{self.org.login}",
            "organization": self.org_simple(),
            "user": self.simple_user(account),
        }

    def team_membership_body(self, team: dict, login: str, role: str, state: str) -> dict:
        return {
            "url": f"{self.base}/organizations/{self.org.id}/team/{team['id']}/memberships/{login}",
            "role": role,
            "state": state,
        }

    # -- paging ---------------------------------------------------------------

    def page(self, items: list, query: dict, path: str):
        try:
            per_page = max(1, min(100, int(query.get("per_page", 30))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            raise validation_failed("per_page and page must be integers", "Pagination", "per_page")
        last = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(number, rel):
            q = dict(query)
            q["per_page"] = str(per_page)
            q["page"] = str(number)
            links.append(f'<{self.base}{path}?{urlencode(q)}>; rel="{rel}"')

        if page > 1:
            link(page - 1, "prev")
        if page < last:
            link(page + 1, "next")
            link(last, "last")
        if page > 1:
            link(1, "first")
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    # -- operations -----------------------------------------------------------

    def _org(self, params):
        if params["org"].lower() != self.org.login.lower():
            raise Refused(404, error_body("Not Found", 404))

    def _team(self, slug) -> dict:
        team = self.org.teams.get(slug)
        if team is None:
            raise Refused(404, error_body("Not Found", 404))
        return team

    def handle(self, base: str, operation: str, params: dict, query: dict, body, path: str):
        with self.org.lock:
            # Bodies carry URLs on the address the client used; one request at a time holds the lock.
            self.base = base
            if "org" in params:
                self._org(params)
            return getattr(self, "op_" + operation.replace("/", "_").replace("-", "_"))(params, query, body, path)

    def op_orgs_get(self, params, query, body, path):
        o = self.org
        full = self.org_simple()
        full.update(
            {
                "name": o.login.capitalize(),
                "is_verified": True,
                "has_organization_projects": True,
                "has_repository_projects": True,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "html_url": f"https://github.com/{o.login}",
                "type": "Organization",
                "created_at": o.created_at,
                "updated_at": o.created_at,
                "archived_at": None,
                "two_factor_requirement_enabled": True,
                "members_can_create_repositories": False,
            }
        )
        return 200, full, {}

    def op_orgs_list_members(self, params, query, body, path):
        role = query.get("role", "all")
        members = [
            self.org.users[login.lower()]
            for login, r in self.org.members.items()
            if role == "all" or r == role
        ]
        members.sort(key=lambda a: a["id"])
        return self.page([self.simple_user(a) for a in members], query, path)

    def op_orgs_get_membership_for_user(self, params, query, body, path):
        login = self.org.login_of(params["username"])
        if login and login in self.org.members:
            return 200, self.membership_body(self.org.users[login.lower()], "active", self.org.members[login]), {}
        invitation = self.org.pending_for_login(params["username"])
        if invitation:
            account = self.org.user(invitation["login"], None)
            return 200, self.membership_body(account, "pending", "admin" if invitation["role"] == "admin" else "member"), {}
        raise Refused(404, error_body("Not Found", 404))

    def op_orgs_set_membership_for_user(self, params, query, body, path):
        role = (body or {}).get("role", "member")
        account = self.org.user(params["username"], None)
        login = account["login"]
        if login in self.org.members:
            self.org.members[login] = role
            return 200, self.membership_body(account, "active", role), {}
        # Not a member yet: GitHub invites the account and answers a pending membership.
        invitation = self.org.pending_for_login(login)
        invitation_role = "admin" if role == "admin" else "direct_member"
        if invitation:
            invitation["role"] = invitation_role
        else:
            self.limits.take_invitation()
            self.org.invite(None, login, invitation_role, [])
        return 200, self.membership_body(account, "pending", role), {}

    def op_orgs_remove_membership_for_user(self, params, query, body, path):
        login = self.org.login_of(params["username"])
        if login and login in self.org.members:
            del self.org.members[login]
            for team in self.org.teams.values():
                team["members"].pop(login, None)
                team["pending"].pop(login, None)
            return 204, None, {}
        invitation = self.org.pending_for_login(params["username"])
        if invitation:
            del self.org.invitations[invitation["id"]]
            for team in self.org.teams.values():
                team["pending"].pop(invitation["login"], None)
            return 204, None, {}
        raise Refused(404, error_body("Not Found", 404))

    def op_orgs_list_pending_invitations(self, params, query, body, path):
        role = query.get("role", "all")
        wanted = {"all": None, "admin": {"admin"}, "direct_member": {"direct_member"}, "billing_manager": {"billing_manager"}}.get(role)
        items = [self.invitation_body(i) for i in self.org.invitations.values() if wanted is None or i["role"] in wanted]
        return self.page(items, query, path)

    def op_orgs_list_failed_invitations(self, params, query, body, path):
        return self.page([self.invitation_body(i) for i in self.org.failed], query, path)

    def op_orgs_create_invitation(self, params, query, body, path):
        body = body or {}
        email, invitee_id = body.get("email"), body.get("invitee_id")
        role = body.get("role", "direct_member")
        team_ids = body.get("team_ids", [])
        if role not in ("admin", "direct_member", "billing_manager", "reinstate"):
            raise validation_failed(f"role {role!r} is not one of admin, direct_member, billing_manager, reinstate", "OrganizationInvitation", "role")
        if not isinstance(team_ids, list) or not all(isinstance(t, int) for t in team_ids):
            raise validation_failed("team_ids must be integers", "OrganizationInvitation", "team_ids")
        for team_id in team_ids:
            if self.org.team_by_id(team_id) is None:
                raise validation_failed(f"team {team_id} does not exist", "OrganizationInvitation", "team_ids")
        login = None
        if invitee_id is not None:
            account = next((a for a in self.org.users.values() if a["id"] == invitee_id), None)
            if account is None:
                raise validation_failed("Invitee does not exist", "OrganizationInvitation", "invitee_id")
            login = account["login"]
            email = None
        elif not isinstance(email, str) or "@" not in email:
            raise validation_failed("A valid email or invitee_id is required", "OrganizationInvitation", "email")
        for member in self.org.members:
            account = self.org.users[member.lower()]
            if (login and member == login) or (email and (account["email"] or "").lower() == email.lower()):
                raise validation_failed("Invitee is already a part of this organization", "OrganizationInvitation", "data", "unprocessable")
        for pending in self.org.invitations.values():
            if (email and (pending["email"] or "").lower() == email.lower()) or (login and pending["login"] == login):
                raise validation_failed("Invitee has already been invited", "OrganizationInvitation", "data", "unprocessable")
        self.limits.take_invitation()
        role = "direct_member" if role == "reinstate" else role
        invitation = self.org.invite(email, login, role, team_ids)
        return 201, self.invitation_body(invitation), {}

    def op_orgs_cancel_invitation(self, params, query, body, path):
        try:
            invitation_id = int(params["invitation_id"])
        except ValueError:
            raise Refused(404, error_body("Not Found", 404))
        invitation = self.org.invitations.pop(invitation_id, None)
        if invitation is None:
            raise Refused(404, error_body("Not Found", 404))
        if invitation["login"]:
            for team in self.org.teams.values():
                team["pending"].pop(invitation["login"], None)
        return 204, None, {}

    def op_teams_list(self, params, query, body, path):
        teams = sorted(self.org.teams.values(), key=lambda t: t["id"])
        return self.page([self.team_body(t) for t in teams], query, path)

    def op_teams_list_members_in_org(self, params, query, body, path):
        team = self._team(params["team_slug"])
        role = query.get("role", "all")
        accounts = [self.org.users[login.lower()] for login, r in team["members"].items() if role == "all" or r == role]
        accounts.sort(key=lambda a: a["id"])
        return self.page([self.simple_user(a) for a in accounts], query, path)

    def op_teams_get_membership_for_user_in_org(self, params, query, body, path):
        team = self._team(params["team_slug"])
        login = self.org.login_of(params["username"]) or params["username"]
        if login in team["members"]:
            return 200, self.team_membership_body(team, login, team["members"][login], "active"), {}
        if login in team["pending"]:
            return 200, self.team_membership_body(team, login, team["pending"][login], "pending"), {}
        raise Refused(404, error_body("Not Found", 404))

    def op_teams_add_or_update_membership_for_user_in_org(self, params, query, body, path):
        team = self._team(params["team_slug"])
        role = (body or {}).get("role", "member")
        account = self.org.user(params["username"], None)
        login = account["login"]
        if login in self.org.members:
            team["members"][login] = role
            return 200, self.team_membership_body(team, login, role, "active"), {}
        # Not an org member: the team membership waits on an org invitation, which GitHub sends.
        team["pending"][login] = role
        invitation = self.org.pending_for_login(login)
        if invitation is None:
            self.limits.take_invitation()
            invitation = self.org.invite(None, login, "direct_member", [])
        if team["id"] not in invitation["team_ids"]:
            invitation["team_ids"].append(team["id"])
        return 200, self.team_membership_body(team, login, role, "pending"), {}

    def op_teams_remove_membership_for_user_in_org(self, params, query, body, path):
        team = self._team(params["team_slug"])
        login = self.org.login_of(params["username"]) or params["username"]
        team["members"].pop(login, None)
        team["pending"].pop(login, None)
        return 204, None, {}

    def op_users_get_by_username(self, params, query, body, path):
        account = self.org.users.get(params["username"].lower())
        if account is None:
            raise Refused(404, error_body("Not Found", 404))
        user = self.simple_user(account)
        # A public profile shows the public email only; the stand-in's users have none
        # unless the org exposes them.
        user.update(
            {
                "name": None,
                "company": None,
                "blog": "",
                "location": None,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": account["created_at"],
                "updated_at": account["created_at"],
            }
        )
        return 200, user, {}

    def op_apps_create_installation_access_token(self, params, query, body, path):
        if self.app is None or int(params["installation_id"]) != self.app.installation_id:
            raise Refused(404, error_body("Not Found", 404))
        token, expires = self.app.issue()
        stamp = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {"token": token, "expires_at": stamp, "permissions": {"members": "write"}, "repository_selection": "all"}, {}

    def op_rate_limit_get(self, params, query, body, path):
        d = self.limits.describe()
        core = {
            "limit": d["primary_limit"],
            "remaining": d["primary_remaining"],
            "reset": int(d["primary_reset"]),
            "used": d["primary_limit"] - d["primary_remaining"],
            "resource": "core",
        }
        search = {"limit": 30, "remaining": 30, "reset": int(time.time()) + 60, "used": 0, "resource": "search"}
        # The X-RateLimit-* headers the description declares here are the ones every answer carries.
        return 200, {"resources": {"core": core, "search": search}, "rate": core}, {}


# ----------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------


class App:
    """A GitHub App installed on the org: it accepts a JWT signed RS256 with the
    App's private key (checked against its public modulus, standard library
    only: the signature raised to the public exponent must be the PKCS#1 v1.5
    encoding of the SHA-256 of the signed part), and hands out installation
    tokens, each valid an hour, that the API then accepts as bearer tokens."""

    # DER of the SHA-256 AlgorithmIdentifier, as PKCS#1 v1.5 signatures carry it.
    SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

    def __init__(self, app_id: str | None, modulus_hex: str | None, installation_id: int | None):
        self.app_id = app_id
        self.modulus = int(modulus_hex, 16) if modulus_hex else None
        self.installation_id = installation_id
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()

    def jwt_error(self, jwt: str) -> str | None:
        """Why GitHub would refuse this JWT, or None."""
        if self.modulus is None:
            return "no GitHub App is installed on this stand-in"
        parts = jwt.split(".")
        if len(parts) != 3:
            return "not a JWT"
        pad = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
        try:
            header, claims, signature = json.loads(pad(parts[0])), json.loads(pad(parts[1])), pad(parts[2])
        except ValueError as e:
            return f"unreadable JWT: {e}"
        if header.get("alg") != "RS256":
            return f"alg {header.get('alg')!r}, not RS256"
        size = (self.modulus.bit_length() + 7) // 8
        decoded = pow(int.from_bytes(signature, "big"), 65537, self.modulus).to_bytes(size, "big")
        digest = hashlib.sha256(f"{parts[0]}.{parts[1]}".encode()).digest()
        suffix = self.SHA256_DIGEST_INFO + digest
        expected = b"\x00\x01" + b"\xff" * (size - 3 - len(suffix)) + b"\x00" + suffix
        if decoded != expected:
            return "the signature does not verify with the App's key"
        now = time.time()
        if str(claims.get("iss")) != str(self.app_id):
            return f"iss {claims.get('iss')!r} is not the App's id"
        if not (claims.get("iat", now + 1) <= now + 60 and claims.get("exp", 0) > now):
            return "the JWT is not valid now (iat/exp)"
        if claims["exp"] - claims["iat"] > 600:
            return "the JWT lives longer than 10 minutes"
        return None

    def issue(self) -> tuple[str, float]:
        token = "ghs_" + uuid.uuid4().hex
        expires = time.time() + 3600
        with self.lock:
            self.tokens[token] = expires
        return token, expires

    def accepts(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0) > time.time()


class StandIn:
    def __init__(self, args):
        self.args = args
        self.app = App(args.app_id, args.app_modulus, args.installation_id)
        self.description = Description(DESCRIPTION)
        self.org = Org(args.org, [t for t in args.teams.split(",") if t], args.expose_emails, args.owner)
        self.limits = Limits(args)
        self.github = GitHub(self.org, self.limits, self.app if args.app_id else None)
        self.faults = GitHubFaults()
        self.calls = CheckedCalls(args.calls_file)
        self.scopes = args.scopes


class GitHubHandler(QuietHandler):
    server_version = "GitHub.com"
    sys_version = ""
    standin: StandIn

    def do_GET(self):
        self.serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def serve(self):
        s = self.standin
        started = time.time()
        request_id = uuid.uuid4().hex[:8].upper() + ":" + uuid.uuid4().hex[:8].upper()
        split = urlsplit(self.path)
        path, query_pairs = split.path, parse_qsl(split.query, keep_blank_values=True)
        query = dict(query_pairs)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        content_type = self.headers.get("Content-Type", "application/json" if raw_body else "")
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        method = self.command

        call = {
            "method": method,
            "path": path,
            "query": query,
            "status": 0,
            "operation": None,
            "request_valid": True,
            "response_valid": True,
            "response_checked": None,
            "errors": [],
            "conditional": False,
            "counted": False,
            "fault": None,
            "request_body": None,
            "at": started,
        }
        if raw_body:
            try:
                call["request_body"] = json.loads(raw_body)
            except ValueError:
                call["request_body"] = raw_body.decode("utf-8", "replace")

        template, operation, params = s.description.route(method, path)
        call["operation"] = operation
        fault = None
        perform = True
        reached = False
        cross_cutting = False
        status, body, extra = 500, error_body("Server Error", 500), {}
        try:
            if operation is None:
                call["request_valid"] = False
                call["errors"].append(f"request: {method} {path} is not an operation of the vendored description")
            else:
                errors = s.description.check_request(method, path, query_pairs, headers, raw_body or None, content_type)
                errors += self.conventions(headers)
                if errors:
                    call["request_valid"] = False
                    call["errors"] += ["request: " + e for e in errors]
            if operation == "apps/create-installation-access-token":
                refusal = self.app_jwt_refusal(headers)
                if refusal:
                    raise Refused(401, {"message": refusal, "documentation_url": DOCS}, counted=False)
            elif not self.authorised(headers):
                raise Refused(401, error_body("Bad credentials", 401), counted=False)
            if operation is None:
                raise Refused(404, error_body("Not Found", 404))
            if not call["request_valid"] and s.args.strict:
                raise Refused(400, {"message": "Request does not match GitHub's OpenAPI description (stand-in --strict)", "errors": call["errors"], "documentation_url": DOCS})

            if not any(k.lower() == "user-agent" and v for k, v in headers.items()):
                raise Refused(403, error_body(USER_AGENT_MESSAGE, 403), counted=False)

            fault = s.faults.take(method, path)
            if fault:
                call["fault"] = fault["kind"]
                if fault["kind"] in ("403-primary", "429"):
                    s.limits.exhaust(fault["reset_in"], 429 if fault["kind"] == "429" else 403)
                elif fault["kind"] in ("403-secondary", "403-secondary-no-header"):
                    extra = {} if fault["kind"].endswith("no-header") else {"retry-after": str(int(fault["retry_after"]))}
                    raise Refused(403, error_body(SECONDARY_MESSAGE.format(request_id=request_id), 403), extra, counted=False)
                elif fault["kind"] in ("500", "502", "timeout", "drop", "malformed"):
                    perform = fault["performed"]

            if operation != "rate-limit/get":  # GitHub: reading /rate_limit costs nothing
                s.limits.check_primary(request_id)
            if method in WRITE_METHODS:
                s.limits.check_secondary(request_id)

            if perform:
                reached = True
                body_value = None
                if raw_body:
                    try:
                        body_value = json.loads(raw_body)
                    except ValueError:
                        raise Refused(400, error_body("Problems parsing JSON", 400))
                status, body, extra = s.github.handle(f"http://{host}", operation, params, query, body_value, path)
            if method == "GET" and status == 200:
                etag = 'W/"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:40] + '"'
                extra = dict(extra, ETag=etag)
                inm = headers.get("If-None-Match") or headers.get("if-none-match")
                if inm and etag in [t.strip() for t in inm.split(",")]:
                    call["conditional"] = True
                    status, body = 304, None
            if status != 304 and operation != "rate-limit/get":
                s.limits.count_primary()
                call["counted"] = True
        except Refused as refused:
            status, body, extra = refused.status, refused.body, refused.headers
            cross_cutting = refused.cross_cutting
            # Refused by a limit before GitHub handled it: a transport fault taken for
            # this call was not met (a "performed" drop would hang up on a call GitHub
            # never made); the next matching call meets it.
            if fault and not reached and fault["kind"] in ("500", "502", "timeout", "drop", "malformed"):
                s.faults.put_back(fault)
                fault = None
                call["fault"] = None
            if refused.counted and operation != "rate-limit/get":
                s.limits.count_primary()
                call["counted"] = True

        if fault and fault["kind"] in ("500", "502"):
            status = int(fault["kind"])
            body = error_body("Server Error", 500) if status == 500 else None
            extra = {}
        payload = b"" if body is None else json.dumps(body).encode()
        response_headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Api-Version-Selected": API_VERSION,
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": request_id,
            "X-OAuth-Scopes": s.scopes,
            "X-Accepted-OAuth-Scopes": "",
            "Date": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }
        if status != 401:
            response_headers.update(s.limits.headers())
        if status in (403, 429) and body and "API rate limit exceeded" in json.dumps(body):
            response_headers["x-ratelimit-remaining"] = "0"
            if status == 429:
                response_headers["retry-after"] = str(max(1, int(float(response_headers["x-ratelimit-reset"]) - time.time() + 0.999)))
        response_headers.update(extra)
        if fault and fault["kind"] == "502":
            payload = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            response_headers["Content-Type"] = "text/html"
        if fault and fault["kind"] == "malformed":
            status = 200
            payload = b'{"message": "truncated'
            response_headers = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Request-Id": request_id}

        if fault and fault["kind"] in ("500", "502", "malformed", "timeout", "drop"):
            call["response_valid"] = fault["kind"] in ("timeout", "drop")
            call["response_checked"] = "fault"
            if fault["kind"] == "malformed":
                call["errors"].append("response: malformed body injected by a fault")
            if fault["kind"] in ("500", "502"):
                call["response_checked"] = "fault"
        else:
            errors, checked = s.description.check_response(method, path, query_pairs, headers, status, payload, response_headers, cross_cutting)
            call["response_checked"] = checked
            if status == 400 and s.args.strict and not call["request_valid"]:
                errors, call["response_checked"] = [], "strict refusal"
            if errors:
                call["response_valid"] = False
                call["errors"] += ["response: " + e for e in errors]
        call["status"] = status if not (fault and fault["kind"] in ("timeout", "drop")) else 0
        call["duration"] = time.time() - started
        s.calls.add(call)

        if fault and fault["kind"] == "drop":
            return self.hang_up()
        if fault and fault["kind"] == "timeout":
            return self.hang_up(after=fault["delay"])
        # send_response writes Server and Date itself.
        self.reply(status, {k: v for k, v in response_headers.items() if k.lower() not in ("server", "date")}, payload)

    def authorised(self, headers: dict) -> bool:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = value.partition(" ")
        known = token == self.standin.args.token or self.standin.app.accepts(token)
        return scheme.lower() in ("bearer", "token") and known

    def app_jwt_refusal(self, headers: dict) -> str | None:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, jwt = value.partition(" ")
        if scheme.lower() != "bearer":
            return "A JSON web token could not be decoded"
        return self.standin.app.jwt_error(jwt)

    def conventions(self, headers: dict) -> list[str]:
        """What the contract asks of every request beyond the description (it names no headers)."""
        lower = {k.lower(): v for k, v in headers.items()}
        errors = []
        if MEDIA_TYPE not in lower.get("accept", ""):
            errors.append(f"convention: Accept must name {MEDIA_TYPE} (got {lower.get('accept')!r})")
        if lower.get("x-github-api-version") != API_VERSION:
            errors.append(f"convention: X-GitHub-Api-Version must be {API_VERSION} (got {lower.get('x-github-api-version')!r})")
        if not lower.get("user-agent"):
            errors.append("convention: GitHub refuses a request without a User-Agent header")
        return errors


class GitHubAdmin(AdminHandler):
    standin: StandIn

    def get(self, path: str):
        s = self.standin
        if path == "/state":
            return 200, s.org.state()
        if path == "/limits":
            return 200, s.limits.describe()
        if path == "/description":
            d = s.description.document
            return 200, {"source": s.description.source, "operations": s.description.operations, "schemas": len(d["components"]["schemas"])}
        return None

    def post(self, path: str, body: dict):
        s = self.standin
        if path == "/members":
            role = body.get("role", "member")
            if role not in ("member", "admin"):
                raise ValueError("role is member or admin")
            account = s.org.seed_member(str(body["login"]), body.get("email"), role, body.get("teams"))
            return 201, {"login": account["login"], "id": account["id"], "email": account["email"], "role": role}
        if path == "/teams":
            team = s.org.add_team(str(body["name"]))
            return 201, {"id": team["id"], "slug": team["slug"]}
        match = re.fullmatch(r"/invitations/(\d+)/(accept|fail|expire)", path)
        if match:
            invitation_id, action = int(match.group(1)), match.group(2)
            try:
                if action == "accept":
                    account = s.org.accept(invitation_id, body.get("login"))
                    return 200, {"login": account["login"], "id": account["id"], "email": account["email"]}
                reason = EXPIRED_REASON if action == "expire" else str(body.get("reason", "Invitation is invalid."))
                failed = s.org.fail(invitation_id, reason)
                return 200, {"id": failed["id"], "failed_at": failed["failed_at"], "failed_reason": failed["failed_reason"]}
            except KeyError:
                return 404, {"message": f"no pending invitation {invitation_id}"}
        if path == "/limits":
            return 200, s.limits.set(body)
        return None


def main() -> int:
    parser = arguments(
        "GitHub stand-in validated against GitHub's OpenAPI description",
        "the GitHub API",
        "calls, state, faults, limits",
        "the one token the API accepts (Bearer or token scheme)",
    )
    parser.add_argument("--org", default="acme")
    parser.add_argument("--teams", default="", help="comma-separated team names made at start")
    parser.add_argument("--expose-emails", action="store_true", help="member objects carry their verified-domain email")
    parser.add_argument("--owner", default="rolecall-bot", help="login of the token's owner, the inviter of every invitation")
    parser.add_argument("--scopes", default="admin:org", help="what X-OAuth-Scopes answers")
    parser.add_argument("--strict", action="store_true", help="answer 400 with the errors to a request that breaks the description")
    parser.add_argument("--invitation-cap", type=int, default=50, help="invitations per --invitation-window (GitHub: 50 or 500 per 24 h)")
    parser.add_argument("--invitation-window", type=float, default=86400.0)
    parser.add_argument("--primary-limit", type=int, default=5000)
    parser.add_argument("--primary-window", type=float, default=3600.0)
    parser.add_argument("--secondary-per-minute", type=int, default=80)
    parser.add_argument("--secondary-per-hour", type=int, default=500)
    parser.add_argument("--secondary-window", type=float, default=60.0, help="the length of the secondary limit's 'minute' (tests shorten it)")
    parser.add_argument("--app-id", help="a GitHub App installed on the org: its id (the JWT's iss)")
    parser.add_argument("--app-modulus", help="the App's RSA public modulus, hex (openssl rsa -noout -modulus); exponent 65537")
    parser.add_argument("--installation-id", type=int, help="the App's installation on the org")
    args = parser.parse_args()

    return serve(StandIn(args), GitHubHandler, GitHubAdmin, args.port, args.admin_port)


if __name__ == "__main__":
    sys.exit(main())
