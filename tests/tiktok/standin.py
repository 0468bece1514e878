#!/usr/bin/env python3
"""A TikTok Business Center stand-in for the TikTok connector's tests.

It serves the Business Center endpoints of TikTok's Business API v1.3 that the
connector uses (`/open_api/v1.3/bc/...`), from one in-memory Business Center,
in TikTok's shapes: the `Access-Token` header, the envelope
`{code, message, request_id, data}` (HTTP 200 with code 0 when fine, a
non-zero code when refused), `page`/`page_size` paging with `page_info`, member
roles, asset types and asset roles, pending and declined invitations, and the
QPS limit (code 40100). It records every call, can inject faults, and a second
port (the admin port, plain JSON, not TikTok's API) lets a test read the calls
and the state and act as the people TikTok would wait for: an invitee
accepting or declining, an invitation expiring, an asset going away, a partner
business holding shared assets, a token losing a permission.

    python3 tests/tiktok/standin.py --port P --admin-port A --bc-id 7000000000000000001 --token T

It prints `ready` on stdout once both ports listen on 127.0.0.1. The request
and response examples it was written from are in `examples/` (see README.md).
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from standin_kit import AdminHandler, Calls, Faults, QuietHandler, arguments, serve  # noqa: E402

PREFIX = "/open_api/v1.3/"

# TikTok's return codes (business-api.tiktok.com "Return codes"; the same table
# is repeated in TikTok's Business Messaging troubleshooting page).
OK = 0
NO_PERMISSION = 40001
BAD_PARAMETER = 40002
NOT_FOUND = 40007
TOO_MANY_REQUESTS = 40100
TOKEN_EMPTY = 40104
TOKEN_INVALID = 40105
INTERNAL = 50000

USER_ROLES = ("ADMIN", "STANDARD")
FINANCE_ROLES = ("MANAGER", "ANALYST")
# Asset type -> (the role field of bc/asset/assign and of listings, the roles it takes).
ASSET_ROLES = {
    "ADVERTISER": ("advertiser_role", ("ADMIN", "OPERATOR", "ANALYST")),
    "CATALOG": ("catalog_role", ("ADMIN", "AD_PROMOTE")),
    "TIKTOK_SHOP": ("store_role", ("AD_PROMOTION",)),
    "LEAD": ("form_library_role", ("ADMIN",)),
    "TT_ACCOUNT": ("tt_account_roles", ("POST", "LIVE", "DIRECT_MESSAGE")),
}
# The permission each family of endpoints needs, as the stand-in names it in a
# 40001 refusal (the app's permission scopes in TikTok's developer portal).
SCOPES = {
    "bc/get/": "Business Center Management",
    "bc/member/": "BC Member Management",
    "bc/asset/": "BC Asset Management",
    "bc/partner/": "BC Partner Management",
}
ALL_SCOPES = sorted(set(SCOPES.values()))
# Largest page_size each list accepts (TikTok's SDK models: members 1-20, asset members 1-20, the others 1-50).
MAX_PAGE_SIZE = {"bc/member/get/": 20, "bc/asset/member/get/": 20}
FAULT_KINDS = {"throttle", "permission", "500", "502", "timeout", "drop", "malformed"}


class Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def bad(message: str) -> Refused:
    return Refused(BAD_PARAMETER, message)


class BusinessCenter:
    """One Business Center: members, invitations, assets and partners."""

    def __init__(self, bc_id: str, name: str, owner_email: str):
        self.lock = threading.RLock()
        self.bc_id = bc_id
        self.name = name
        self.next_id = 7_100_000_000_000_000_000
        # user_id -> member
        self.members: dict[str, dict] = {}
        # lower-case email -> invitation (PENDING or REJECTED)
        self.invitations: dict[str, dict] = {}
        # asset_id -> asset {asset_id, asset_type, asset_name, holders: {user_id: role}, partners: {bc_id: role}}
        self.assets: dict[str, dict] = {}
        # partner bc_id -> {bc_id, bc_name}
        self.partners: dict[str, dict] = {}
        # The token's own user: an ADMIN of the Business Center.
        self.owner = self.seed_member(owner_email, "rolecall-api", "ADMIN", None, {})

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    # --- seeding (admin port) -------------------------------------------------

    def seed_member(self, email: str, name: str, role: str, finance: str | None, assets: dict) -> dict:
        with self.lock:
            if role not in USER_ROLES:
                raise ValueError(f"role is one of {USER_ROLES}")
            user_id = self.new_id()
            member = {"user_id": user_id, "user_name": name, "user_email": email, "user_role": role, "finance_role": finance}
            self.members[user_id] = member
            for asset_id, asset_role in assets.items():
                self.asset(asset_id)["holders"][user_id] = asset_role
            return member

    def add_asset(self, asset_type: str, name: str, asset_id: str | None) -> dict:
        with self.lock:
            if asset_type not in ASSET_ROLES:
                raise ValueError(f"asset type is one of {sorted(ASSET_ROLES)}")
            asset_id = asset_id or self.new_id()
            asset = {"asset_id": asset_id, "asset_type": asset_type, "asset_name": name, "holders": {}, "partners": {}}
            self.assets[asset_id] = asset
            return asset

    def asset(self, asset_id: str) -> dict:
        asset = self.assets.get(asset_id)
        if asset is None:
            raise KeyError(asset_id)
        return asset

    def remove_asset(self, asset_id: str) -> dict:
        with self.lock:
            asset = self.assets.pop(asset_id, None)
            if asset is None:
                raise KeyError(asset_id)
            for invitation in self.invitations.values():
                invitation["asset_ids"] = [a for a in invitation["asset_ids"] if a != asset_id]
            return asset

    def add_partner(self, partner_id: str, name: str, assets: dict) -> dict:
        with self.lock:
            partner = {"bc_id": partner_id, "bc_name": name}
            self.partners[partner_id] = partner
            for asset_id, role in assets.items():
                self.asset(asset_id)["partners"][partner_id] = role
            return partner

    # --- invitations (admin port) ---------------------------------------------

    def invitation(self, email: str) -> dict:
        invitation = self.invitations.get(email.lower())
        if invitation is None:
            raise KeyError(email)
        return invitation

    def accept(self, email: str, name: str | None) -> dict:
        with self.lock:
            invitation = self.invitation(email)
            if invitation["relation_status"] != "PENDING":
                raise KeyError(email)
            del self.invitations[email.lower()]
            member = self.seed_member(invitation["email"], name or invitation["email"].split("@")[0], invitation["user_role"], invitation["finance_role"], {})
            for asset_id in invitation["asset_ids"]:
                if asset_id in self.assets:
                    self.assets[asset_id]["holders"][member["user_id"]] = invitation["advertiser_role"]
            return member

    def decline(self, email: str) -> dict:
        with self.lock:
            invitation = self.invitation(email)
            invitation["relation_status"] = "REJECTED"
            return invitation

    def expire(self, email: str) -> dict:
        """TikTok documents no expired status for a member: an invitation past its
        time is gone from bc/member/get."""
        with self.lock:
            invitation = self.invitation(email)
            del self.invitations[email.lower()]
            return invitation

    def state(self) -> dict:
        with self.lock:
            return {
                "bc_id": self.bc_id,
                "members": [dict(m) for m in self.members.values()],
                "invitations": [dict(i) for i in self.invitations.values()],
                "assets": [
                    {k: (dict(v) if isinstance(v, dict) else v) for k, v in a.items()} for a in self.assets.values()
                ],
                "partners": [dict(p) for p in self.partners.values()],
            }


class Limits:
    """TikTok's per-app request limits: a QPS budget (one-second window) and a QPM budget (one-minute window)."""

    def __init__(self, qps: int, qpm: int):
        self.lock = threading.Lock()
        self.qps = qps
        self.qpm = qpm
        self.times: collections.deque[float] = collections.deque()

    def take(self) -> None:
        """Counts a call, or refuses it with TikTok's 40100 when a budget is spent."""
        now = time.time()
        with self.lock:
            while self.times and now - self.times[0] >= 60.0:
                self.times.popleft()
            last_second = sum(1 for t in self.times if now - t < 1.0)
            if self.qps and last_second >= self.qps:
                raise Refused(TOO_MANY_REQUESTS, f"App reaches the QPS limit {self.qps}, current QPS is {last_second + 1}. Please retry later.")
            if self.qpm and len(self.times) >= self.qpm:
                raise Refused(TOO_MANY_REQUESTS, f"App reaches the QPM limit {self.qpm}, current QPM is {len(self.times) + 1}. Please retry later.")
            self.times.append(now)

    def set(self, changes: dict) -> dict:
        with self.lock:
            if "qps" in changes:
                self.qps = int(changes["qps"])
            if "qpm" in changes:
                self.qpm = int(changes["qpm"])
            return {"qps": self.qps, "qpm": self.qpm}


class TikTokFaults(Faults):
    KINDS = frozenset(FAULT_KINDS)
    # A fault leaves the queue once spent.
    DROP_SPENT = True

    def entry(self, fault: dict, kind: str) -> dict:
        return {
            "kind": kind,
            "count": int(fault.get("count", 1)),
            "method": fault.get("method"),
            "path_prefix": fault.get("path_prefix"),
            "delay": float(fault.get("delay", 3)),
            # Whether the call still happens before the fault answers (a write lost on the way back).
            "performed": bool(fault.get("performed", False)),
            "scope": fault.get("scope"),
        }


def page_of(items: list, query: dict, endpoint: str) -> dict:
    """One page of a list, as TikTok pages them (`page` from 1, `page_size`, `page_info`)."""
    try:
        page = int(query.get("page", "1"))
        size = int(query.get("page_size", "10"))
    except ValueError:
        raise bad("page and page_size must be integers")
    largest = MAX_PAGE_SIZE.get(endpoint, 50)
    if page < 1 or not 1 <= size <= largest:
        raise bad(f"page must be >= 1 and page_size between 1 and {largest}")
    total = len(items)
    total_page = (total + size - 1) // size
    start = (page - 1) * size
    return {
        "list": items[start : start + size],
        "page_info": {"page": page, "page_size": size, "total_number": total, "total_page": total_page},
    }


def filtering_of(query: dict) -> dict:
    text = query.get("filtering")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise bad("filtering must be a JSON object")
    if not isinstance(value, dict):
        raise bad("filtering must be a JSON object")
    return value


def role_value(asset_type: str, role):
    """A holder's role as listings show it (TT_ACCOUNT roles are a list)."""
    return list(role) if asset_type == "TT_ACCOUNT" else role


class TikTok:
    """The endpoints, each answering `data` or raising Refused."""

    def __init__(self, bc: BusinessCenter):
        self.bc = bc

    def check_bc(self, value):
        if value != self.bc.bc_id:
            raise Refused(NO_PERMISSION, f"No permission to operate Business Center {value}.")

    def member_body(self, member: dict, role=None, asset_type: str | None = None) -> dict:
        body = {
            "user_id": member["user_id"],
            "user_name": member["user_name"],
            "user_email": member["user_email"],
            "user_role": member["user_role"],
            "relation_status": "BOUND",
            "ext_user_role": {"finance_role": member["finance_role"]} if member.get("finance_role") else {},
        }
        if asset_type is not None:
            field = ASSET_ROLES[asset_type][0]
            body[field] = role_value(asset_type, role)
        return body

    def invitation_body(self, invitation: dict) -> dict:
        return {
            "user_id": "",
            "user_name": "",
            "user_email": invitation["email"],
            "user_role": invitation["user_role"],
            "relation_status": invitation["relation_status"],
            "ext_user_role": {"finance_role": invitation["finance_role"]} if invitation.get("finance_role") else {},
        }

    def asset_body(self, asset: dict, role=None) -> dict:
        body = {
            "asset_id": asset["asset_id"],
            "asset_name": asset["asset_name"],
            "asset_type": asset["asset_type"],
            "relation_type": "OWNER_BC",
            "owner_bc_name": self.bc.name,
        }
        if asset["asset_type"] in ("ADVERTISER", "TIKTOK_SHOP"):
            body["relation_status"] = "BOUND"
        if asset["asset_type"] == "ADVERTISER":
            body["advertiser_status"] = "STATUS_ENABLE"
            body["advertiser_account_type"] = "AUCTION"
        if role is not None:
            body[ASSET_ROLES[asset["asset_type"]][0]] = role_value(asset["asset_type"], role)
        return body

    def asset_of(self, asset_id, asset_type) -> dict:
        asset = self.bc.assets.get(str(asset_id))
        if asset is None or asset["asset_type"] != asset_type:
            raise bad(f"The asset {asset_id} of type {asset_type} does not exist in the Business Center.")
        return asset

    def member_of(self, user_id) -> dict:
        member = self.bc.members.get(str(user_id))
        if member is None:
            raise bad(f"The user {user_id} does not exist in the Business Center.")
        return member

    def role_for(self, asset_type: str, body: dict):
        field, allowed = ASSET_ROLES[asset_type]
        role = body.get(field)
        if asset_type == "TT_ACCOUNT":
            if not isinstance(role, list) or not role or any(r not in allowed for r in role):
                raise bad(f"tt_account_roles must be a non-empty list of {allowed}")
            return sorted(set(role))
        if role not in allowed:
            raise bad(f"{field} must be one of {allowed} for asset_type {asset_type}")
        return role

    def handle(self, method: str, endpoint: str, query: dict, body: dict):
        with self.bc.lock:
            name = "op_" + endpoint.strip("/").replace("/", "_")
            op = getattr(self, name, None)
            want = "GET" if endpoint.endswith("/get/") else "POST"
            if op is None or method != want:
                raise Refused(NOT_FOUND, f"{method} {PREFIX}{endpoint} is not an endpoint of the stand-in")
            return op(query if method == "GET" else body)

    # --- Business Center --------------------------------------------------------

    def op_bc_get(self, q):
        if q.get("bc_id") and q.get("bc_id") != self.bc.bc_id:
            # A Business Center the token's user has no access to is not among "the ones you have access to".
            return page_of([], q, "bc/get/")
        owner = self.bc.owner
        info = {
            "bc_id": self.bc.bc_id,
            "name": self.bc.name,
            "company": self.bc.name,
            "currency": "USD",
            "registered_area": "US",
            "status": "ENABLE",
            "timezone": "Etc/GMT",
            "type": "NORMAL",
            "verification_status": "VERIFIED",
        }
        items = [{"bc_info": info, "user_role": owner["user_role"], "ext_user_role": {}}]
        return page_of(items, q, "bc/get/")

    # --- members ----------------------------------------------------------------

    def op_bc_member_get(self, q):
        self.check_bc(q.get("bc_id"))
        f = filtering_of(q)
        items = [self.member_body(m) for m in self.bc.members.values()]
        items += [self.invitation_body(i) for i in self.bc.invitations.values()]
        if f.get("user_role"):
            items = [i for i in items if i["user_role"] == f["user_role"]]
        if f.get("relation_status"):
            items = [i for i in items if i["relation_status"] == f["relation_status"]]
        if f.get("keyword"):
            k = str(f["keyword"]).lower()
            items = [i for i in items if k in i["user_email"].lower() or k in i["user_name"].lower()]
        return page_of(items, q, "bc/member/get/")

    def op_bc_member_invite(self, b):
        self.check_bc(b.get("bc_id"))
        emails = b.get("emails")
        if not isinstance(emails, list) or not emails or len(emails) > 50 or not all(isinstance(e, str) and "@" in e for e in emails):
            raise bad("emails must be a list of 1 to 50 email addresses")
        role = b.get("user_role", "STANDARD")
        if role not in USER_ROLES:
            raise bad(f"user_role must be one of {USER_ROLES}")
        finance = (b.get("ext_user_role") or {}).get("finance_role")
        if finance is not None and finance not in FINANCE_ROLES:
            raise bad(f"ext_user_role.finance_role must be one of {FINANCE_ROLES}")
        asset_ids = [str(a) for a in b.get("asset_ids") or []]
        if len(asset_ids) > 50:
            raise bad("asset_ids takes at most 50 ids")
        advertiser_role = b.get("advertiser_role")
        if asset_ids:
            if advertiser_role not in ASSET_ROLES["ADVERTISER"][1]:
                raise bad("advertiser_role must be ADMIN, OPERATOR or ANALYST when asset_ids are given")
            for asset_id in asset_ids:
                self.asset_of(asset_id, "ADVERTISER")
        bound = {m["user_email"].lower() for m in self.bc.members.values()}
        for email in emails:
            key = email.lower()
            # "Email addresses invited before are ignored", and so are members'.
            if key in bound or (key in self.bc.invitations and self.bc.invitations[key]["relation_status"] == "PENDING"):
                continue
            self.bc.invitations[key] = {
                "email": email,
                "user_role": role,
                "finance_role": finance,
                "asset_ids": asset_ids,
                "advertiser_role": advertiser_role,
                "relation_status": "PENDING",
                "invited_at": time.time(),
            }
        return {}

    def op_bc_member_update(self, b):
        self.check_bc(b.get("bc_id"))
        member = self.member_of(b.get("user_id"))
        if "user_role" in b:
            if b["user_role"] not in USER_ROLES:
                raise bad(f"user_role must be one of {USER_ROLES}")
            member["user_role"] = b["user_role"]
        if "ext_user_role" in b:
            finance = (b.get("ext_user_role") or {}).get("finance_role")
            if finance is not None and finance not in FINANCE_ROLES:
                raise bad(f"ext_user_role.finance_role must be one of {FINANCE_ROLES}")
            member["finance_role"] = finance
        if b.get("user_name"):
            member["user_name"] = b["user_name"]
        return {}

    def op_bc_member_delete(self, b):
        self.check_bc(b.get("bc_id"))
        if b.get("user_id"):
            member = self.member_of(b["user_id"])
            if member is self.bc.owner:
                raise bad("You cannot delete yourself from the Business Center.")
            del self.bc.members[member["user_id"]]
            # Removing a member removes its access to every asset.
            for asset in self.bc.assets.values():
                asset["holders"].pop(member["user_id"], None)
            return {}
        if b.get("user_email"):
            if self.bc.invitations.pop(str(b["user_email"]).lower(), None) is None:
                raise bad(f"No invitation for {b['user_email']} exists in the Business Center.")
            return {}
        raise bad("user_id or user_email is required")

    # --- assets -----------------------------------------------------------------

    def op_bc_asset_get(self, q):
        self.check_bc(q.get("bc_id"))
        asset_type = q.get("asset_type")
        if asset_type not in ASSET_ROLES:
            raise bad(f"asset_type must be one of {sorted(ASSET_ROLES)}")
        f = filtering_of(q)
        if f.get("user_id") and f.get("user_email"):
            raise bad("user_id and user_email cannot be used together")
        assets = [a for a in self.bc.assets.values() if a["asset_type"] == asset_type]
        if f.get("user_id"):
            member = self.member_of(f["user_id"])
            items = [self.asset_body(a, a["holders"][member["user_id"]]) for a in assets if member["user_id"] in a["holders"]]
        elif f.get("user_email"):
            if asset_type != "ADVERTISER":
                raise bad("filtering.user_email is only supported with asset_type ADVERTISER")
            invitation = self.bc.invitations.get(str(f["user_email"]).lower())
            ids = set(invitation["asset_ids"]) if invitation and invitation["relation_status"] == "PENDING" else set()
            items = [self.asset_body(a, invitation["advertiser_role"]) for a in assets if a["asset_id"] in ids]
        else:
            items = [self.asset_body(a) for a in assets]
        if f.get("keyword"):
            k = str(f["keyword"]).lower()
            items = [i for i in items if k in i["asset_name"].lower() or k == i["asset_id"]]
        return page_of(items, q, "bc/asset/get/")

    def op_bc_asset_member_get(self, q):
        self.check_bc(q.get("bc_id"))
        asset = self.asset_of(q.get("asset_id"), q.get("asset_type"))
        items = [self.member_body(self.bc.members[u], role, asset["asset_type"]) for u, role in asset["holders"].items() if u in self.bc.members]
        return page_of(items, q, "bc/asset/member/get/")

    def op_bc_asset_assign(self, b):
        self.check_bc(b.get("bc_id"))
        asset = self.asset_of(b.get("asset_id"), b.get("asset_type"))
        member = self.member_of(b.get("user_id"))
        # Assigning an asset the member holds already sets its new role.
        asset["holders"][member["user_id"]] = self.role_for(asset["asset_type"], b)
        return {}

    def op_bc_asset_unassign(self, b):
        self.check_bc(b.get("bc_id"))
        asset = self.asset_of(b.get("asset_id"), b.get("asset_type"))
        member = self.member_of(b.get("user_id"))
        if asset["holders"].pop(member["user_id"], None) is None:
            raise bad(f"The user {member['user_id']} has no access to the asset {asset['asset_id']}.")
        return {}

    # --- partners ---------------------------------------------------------------

    def op_bc_partner_get(self, q):
        self.check_bc(q.get("bc_id"))
        items = [dict(p) for p in self.bc.partners.values()]
        name = filtering_of(q).get("name")
        if name:
            items = [p for p in items if str(name).lower() in p["bc_name"].lower()]
        return page_of(items, q, "bc/partner/get/")

    def partner_of(self, partner_id) -> dict:
        partner = self.bc.partners.get(str(partner_id))
        if partner is None:
            raise bad(f"The Business Center {partner_id} is not a partner of this Business Center.")
        return partner

    def op_bc_partner_asset_get(self, q):
        self.check_bc(q.get("bc_id"))
        partner = self.partner_of(q.get("partner_id"))
        asset_type = q.get("asset_type")
        if asset_type not in ASSET_ROLES:
            raise bad(f"asset_type must be one of {sorted(ASSET_ROLES)}")
        share_type = q.get("share_type")
        if share_type not in ("SHARED", "SHARING"):
            raise bad("share_type must be SHARED or SHARING")
        items = []
        if share_type == "SHARING":
            for a in self.bc.assets.values():
                if a["asset_type"] == asset_type and partner["bc_id"] in a["partners"]:
                    items.append(self.asset_body(a, a["partners"][partner["bc_id"]]))
        return page_of(items, q, "bc/partner/asset/get/")

    def op_bc_partner_add(self, b):
        self.check_bc(b.get("bc_id"))
        partner_id = str(b.get("partner_id") or "")
        if not partner_id:
            raise bad("partner_id is required")
        asset_type = b.get("asset_type")
        if asset_type not in ASSET_ROLES:
            raise bad(f"asset_type must be one of {sorted(ASSET_ROLES)}")
        asset_ids = [str(a) for a in b.get("asset_ids") or []]
        if len(asset_ids) > 50:
            raise bad("asset_ids takes at most 50 ids")
        assets = [self.asset_of(a, asset_type) for a in asset_ids]
        field = ASSET_ROLES[asset_type][0]
        if asset_type == "ADVERTISER":
            role = b.get(field) or "ANALYST"
            if role not in ASSET_ROLES["ADVERTISER"][1]:
                raise bad("advertiser_role must be ADMIN, OPERATOR or ANALYST")
        elif asset_type == "CATALOG":
            role = b.get(field) or "AD_PROMOTE"
            if role not in ASSET_ROLES["CATALOG"][1]:
                raise bad("catalog_role must be ADMIN or AD_PROMOTE")
        else:
            role = ASSET_ROLES[asset_type][1][0]
        self.bc.partners.setdefault(partner_id, {"bc_id": partner_id, "bc_name": f"Partner {partner_id}"})
        for asset in assets:
            asset["partners"][partner_id] = role_value(asset_type, [role]) if asset_type == "TT_ACCOUNT" else role
        return {}

    def op_bc_partner_asset_delete(self, b):
        self.check_bc(b.get("bc_id"))
        partner = self.partner_of(b.get("partner_id"))
        asset_type = b.get("asset_type")
        asset_ids = [str(a) for a in b.get("asset_ids") or []]
        if not asset_ids:
            raise bad("asset_ids is required")
        for asset_id in asset_ids:
            asset = self.asset_of(asset_id, asset_type)
            if asset["partners"].pop(partner["bc_id"], None) is None:
                raise bad(f"The asset {asset_id} is not shared with the partner {partner['bc_id']}.")
        return {}


class StandIn:
    def __init__(self, args):
        self.args = args
        self.bc = BusinessCenter(args.bc_id, args.bc_name, args.owner_email)
        self.tiktok = TikTok(self.bc)
        self.limits = Limits(args.qps, args.qpm)
        self.faults = TikTokFaults()
        self.calls = Calls(args.calls_file)
        self.scopes = set(ALL_SCOPES)
        self.lock = threading.Lock()


def scope_of(endpoint: str) -> str:
    for prefix, scope in SCOPES.items():
        if endpoint.startswith(prefix):
            return scope
    return "Business Center Management"


class TikTokHandler(QuietHandler):
    server_version = "Tengine"
    sys_version = ""
    standin: StandIn

    def do_GET(self):
        self.serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def serve(self):
        s = self.standin
        started = time.time()
        request_id = time.strftime("%Y%m%d%H%M%S", time.gmtime(started)) + uuid.uuid4().hex[:18].upper()
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        method = self.command
        endpoint = path[len(PREFIX) :] if path.startswith(PREFIX) else None
        call = {
            "method": method,
            "path": path,
            "endpoint": endpoint,
            "query": query,
            "request_body": None,
            "code": None,
            "http_status": 200,
            "fault": None,
            "write": method == "POST",
            "at": started,
        }
        body = {}
        if raw:
            try:
                body = json.loads(raw)
                call["request_body"] = body
            except ValueError:
                call["request_body"] = raw.decode("utf-8", "replace")
                body = None
        fault = None
        data = None
        reached = False
        try:
            token = self.headers.get("Access-Token")
            if not token:
                raise Refused(TOKEN_EMPTY, "Access token is null, please check the request header Access-Token.")
            if token != s.args.token:
                raise Refused(TOKEN_INVALID, "Access token is incorrect or has been revoked.")
            if endpoint is None:
                raise Refused(NOT_FOUND, f"{path} is not under {PREFIX}")
            if body is None or not isinstance(body, dict):
                raise bad("The request body must be a JSON object.")
            if method == "POST" and "application/json" not in (self.headers.get("Content-Type") or ""):
                raise bad("Content-Type must be application/json.")
            fault = s.faults.take(method, path)
            if fault:
                call["fault"] = fault["kind"]
                if fault["kind"] == "throttle":
                    raise Refused(TOO_MANY_REQUESTS, f"App reaches the QPS limit {s.limits.qps or 10}, current QPS is {(s.limits.qps or 10) + 1}. Please retry later.")
                if fault["kind"] == "permission":
                    raise Refused(NO_PERMISSION, f"No permission to operate. The app has not been granted the permission {fault.get('scope') or scope_of(endpoint)}.")
            s.limits.take()
            scope = scope_of(endpoint)
            with s.lock:
                allowed = scope in s.scopes
            if not allowed:
                raise Refused(NO_PERMISSION, f"No permission to operate. The app has not been granted the permission {scope}.")
            if fault is None or fault["performed"] or fault["kind"] in ("throttle", "permission"):
                reached = True
                data = s.tiktok.handle(method, endpoint, query, body)
            code, message = OK, "OK"
        except Refused as refused:
            code, message = refused.code, refused.message
            # Refused before the app handled it (the QPS limit, a missing scope): a
            # transport fault taken for this call was not met; the next call meets it.
            # Hanging up here would drop a call TikTok never made while the test
            # believes it made it ("performed").
            if fault and not reached and fault["kind"] not in ("throttle", "permission"):
                s.faults.put_back(fault)
                fault = None
                call["fault"] = None
        call["code"] = code
        call["message"] = message
        envelope = {"code": code, "message": message, "request_id": request_id, "data": data if data is not None else {}}
        status, payload, content_type = 200, json.dumps(envelope).encode(), "application/json"
        kind = fault["kind"] if fault else None
        if kind == "500":
            status, payload = 500, json.dumps({"code": INTERNAL, "message": "Internal service error", "request_id": request_id, "data": {}}).encode()
        elif kind == "502":
            status, payload, content_type = 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
        elif kind == "malformed":
            payload = b'{"code": 0, "message": "OK", "data": {"list": [tru'
        call["http_status"] = 0 if kind in ("timeout", "drop") else status
        call["duration"] = time.time() - started
        s.calls.add(call)
        if kind in ("timeout", "drop"):
            return self.hang_up(after=fault["delay"] if kind == "timeout" else 0.0)
        self.reply(status, {"Content-Type": content_type, "X-Tt-Logid": request_id}, payload)


class TikTokAdmin(AdminHandler):
    standin: StandIn

    def get(self, path: str):
        if path == "/state":
            return 200, self.standin.bc.state()
        return None

    def delete(self, path: str):
        if path.startswith("/assets/"):
            try:
                asset = self.standin.bc.remove_asset(path[len("/assets/") :])
            except KeyError:
                return 404, {"message": "no such asset"}
            return 200, {"asset_id": asset["asset_id"]}
        return None

    def post(self, path: str, body: dict):
        s = self.standin
        if path == "/members":
            member = s.bc.seed_member(
                str(body["email"]), str(body.get("name") or body["email"].split("@")[0]), body.get("role", "STANDARD"),
                body.get("finance_role"), {str(k): v for k, v in (body.get("assets") or {}).items()},
            )
            return 201, member
        if path == "/assets":
            asset = s.bc.add_asset(str(body["type"]), str(body["name"]), body.get("id"))
            return 201, {"asset_id": asset["asset_id"], "asset_type": asset["asset_type"], "asset_name": asset["asset_name"]}
        if path == "/partners":
            partner = s.bc.add_partner(str(body["id"]), str(body.get("name") or f"Partner {body['id']}"), {str(k): v for k, v in (body.get("assets") or {}).items()})
            return 201, partner
        if path.startswith("/invitations/"):
            rest = path[len("/invitations/") :]
            email, _, action = rest.rpartition("/")
            try:
                if action == "accept":
                    return 200, s.bc.accept(email, body.get("name"))
                if action == "decline":
                    return 200, s.bc.decline(email)
                if action == "expire":
                    return 200, s.bc.expire(email)
            except KeyError:
                return 404, {"message": f"no pending invitation for {email}"}
        if path == "/scopes":
            scopes = body.get("scopes")
            if not isinstance(scopes, list) or any(x not in ALL_SCOPES for x in scopes):
                raise ValueError(f"scopes is a list of {ALL_SCOPES}")
            with s.lock:
                s.scopes = set(scopes)
            return 200, {"scopes": sorted(s.scopes)}
        if path == "/limits":
            return 200, s.limits.set(body)
        return None


def main() -> int:
    parser = arguments(
        "TikTok Business Center stand-in (Business API v1.3)",
        "the Business API",
        "calls, state, faults, limits",
        "the one access token the API accepts (Access-Token header)",
    )
    parser.add_argument("--bc-id", default="7000000000000000001")
    parser.add_argument("--bc-name", default="Acme Ads")
    parser.add_argument("--owner-email", default="api@acme.io", help="the token's user, an ADMIN of the Business Center")
    parser.add_argument("--qps", type=int, default=10, help="requests per second the app may make (TikTok's default app QPS is 10); 0: none")
    parser.add_argument("--qpm", type=int, default=0, help="requests per minute the app may make; 0: none")
    args = parser.parse_args()

    return serve(StandIn(args), TikTokHandler, TikTokAdmin, args.port, args.admin_port)


if __name__ == "__main__":
    sys.exit(main())
