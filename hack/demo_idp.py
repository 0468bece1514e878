#!/usr/bin/env python3
"""A scripted identity provider for `make demo` (standard library only).

It pushes a small company into rolecall's SCIM sidecar in the shape Microsoft
Entra ID's provisioning service uses: per user a filter GET by userName, then a
POST; per group a filter GET by displayName, a POST without members, then
member PATCHes in batches. Later it makes two everyday changes the way Entra
sends them: a user deactivated (PATCH `active` to the string "False") and a
user moved between groups (a member removal from one group, then an add to
the other, in separate requests).

Subcommands (each reads and writes the ids it learnt in --state):
  push     the whole company: 5 groups, 30 users
  grants   the demo's AccessGrants as YAML, naming the Teams the sidecar made
  change   deactivate one user, move another from Engineering to Design
  wait     poll the hubs (kubectl) until they show what the company implies
"""

import argparse
import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DOMAIN = "acme.example"

# The company: department -> people. Platform is a second group of some engineers.
PEOPLE = {
    "Engineering": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Linus Pauling", "Margaret Hamilton",
                    "Dennis Ritchie", "Barbara Liskov", "Ken Thompson", "Frances Allen", "John Backus"],
    "Design": ["Dieter Rams", "Paula Scher", "Massimo Vignelli", "Susan Kare", "Saul Bass", "April Greiman"],
    "Product": ["Marty Cagan", "Teresa Torres", "Ken Norton", "Julie Zhuo", "Ben Horowitz", "Melissa Perri"],
    "Sales": ["Zig Ziglar", "Mary Kay Ash", "Dale Carnegie", "Brian Tracy", "Jill Konrath", "Neil Rackham",
              "Grant Cardone", "Jeb Blount"],
}
PLATFORM = ["Ada Lovelace", "Grace Hopper", "Ken Thompson"]
GROUPS = ["Engineering", "Platform", "Design", "Product", "Sales"]

# What the admin grants, by group: (group, hub, app roles). Highest weight wins on a hub.
GRANTS = [
    ("Engineering", "design-tool", ["viewer"]),
    ("Design", "design-tool", ["editor"]),
    ("Product", "design-tool", ["editor"]),
    ("Engineering", "wiki", ["editor"]),
    ("Platform", "wiki", ["admin"]),
    ("Design", "wiki", ["reader"]),
    ("Product", "wiki", ["editor"]),
    ("Sales", "wiki", ["reader"]),
]

# The later changes: who leaves the company (a seat on both hubs), who moves from Engineering to Design.
LEAVER = "Ben Horowitz"
MOVER = "Linus Pauling"


def email_of(person):
    return person.lower().replace(" ", ".") + "@" + DOMAIN


def membership(phase):
    """group -> set of people, and the set of active people, in a phase."""
    groups = {g: set(PEOPLE.get(g, [])) for g in GROUPS}
    groups["Platform"] = set(PLATFORM)
    active = {p for people in PEOPLE.values() for p in people}
    if phase == "changed":
        active.discard(LEAVER)
        groups["Engineering"].discard(MOVER)
        groups["Design"].add(MOVER)
    return groups, active


def expected_seats(phase):
    """hub -> {email: app roles} that the hubs should show once settled."""
    groups, active = membership(phase)
    weights = {"viewer": 1, "editor": 10, "owner": 100, "reader": 1, "admin": 100}
    seats = {}
    for group, hub, roles in GRANTS:
        for person in groups[group] & active:
            current = seats.setdefault(hub, {}).get(email_of(person))
            best = max(roles, key=weights.get)
            if current is None or weights[best] > weights[current]:
                seats[hub][email_of(person)] = best
    return seats


class Scim:
    """A tiny SCIM client with the sidecar's CA and a bearer token."""

    def __init__(self, base, token, cacert):
        self.base = base.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cafile=cacert) if cacert else None
        self.requests = 0

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        request.add_header("Accept", "application/scim+json")
        if data is not None:
            request.add_header("Content-Type", "application/scim+json")
        self.requests += 1
        for attempt in range(5):
            try:
                with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                    text = response.read().decode()
                    return json.loads(text) if text.strip() else None
            except urllib.error.HTTPError as e:
                # Entra retries throttled and failed requests; so does the stand-in.
                if e.code in (429, 500, 502, 503, 504) and attempt < 4:
                    time.sleep(float(e.headers.get("Retry-After") or 1))
                    continue
                raise SystemExit(f"demo IdP: {method} {path} answered {e.code}: {e.read().decode()[:300]}")
        raise SystemExit(f"demo IdP: {method} {path} kept failing")

    def find(self, collection, attribute, value):
        query = urllib.parse.quote(f'{attribute} eq "{value}"')
        found = self.call("GET", f"/{collection}?filter={query}")
        resources = found.get("Resources", []) if found else []
        return resources[0]["id"] if resources else None


def user_body(person, department, manager_id):
    given, family = person.split(" ", 1)
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": "entra-" + person.lower().replace(" ", "-"),
        "userName": email_of(person),
        "active": True,
        "displayName": person,
        "emails": [{"primary": True, "type": "work", "value": email_of(person)}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": person, "familyName": family, "givenName": given},
        "title": department + (" lead" if manager_id is None else ""),
        ENTERPRISE_SCHEMA: {"department": department},
    }
    if manager_id:
        body[ENTERPRISE_SCHEMA]["manager"] = {"value": manager_id}
    return body


def push(scim, state):
    users = state.setdefault("users", {})
    for department, people in PEOPLE.items():
        lead_id = None
        for person in people:
            email = email_of(person)
            # Entra first asks whether the user exists (its matching attribute), then creates it.
            existing = scim.find("Users", "userName", email)
            if existing is None:
                existing = scim.call("POST", "/Users", user_body(person, department, lead_id))["id"]
            users[email] = existing
            lead_id = lead_id or existing
    groups = state.setdefault("groups", {})
    members_of, _ = membership("initial")
    for group in GROUPS:
        group_id = scim.find("Groups", "displayName", group)
        if group_id is None:
            body = {"schemas": [GROUP_SCHEMA], "externalId": "entra-group-" + group.lower(), "displayName": group, "members": []}
            group_id = scim.call("POST", "/Groups", body)["id"]
        groups[group] = group_id
        members = sorted(users[email_of(p)] for p in members_of[group])
        # Entra adds members in PATCHes of a few at a time.
        for start in range(0, len(members), 5):
            ops = [{"op": "Add", "path": "members", "value": [{"value": m} for m in members[start:start + 5]]}]
            scim.call("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_SCHEMA], "Operations": ops})
    print(f"   pushed {len(users)} users and {len(groups)} groups in {scim.requests} SCIM requests "
          f"(filter GET + POST per user; filter GET, POST, member PATCHes per group)")


def grants(state):
    docs = []
    for group, hub, roles in GRANTS:
        team = state["groups"][group]
        docs.append(
            "apiVersion: rolecall.dev/v1alpha1\nkind: AccessGrant\n"
            f"metadata: {{name: {group.lower()}-{hub}, namespace: {state['namespace']}}}\n"
            f"spec: {{subject: {{team: {team}}}, hub: {hub}, appRoles: [{', '.join(roles)}]}}  # team {group}\n"
        )
    print("---\n".join(docs), end="")


def kubectl_json(args, *command):
    out = subprocess.run([args.kubectl, "-n", args.namespace, *command, "-o", "json"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def account_of(args, hub, email):
    accounts = kubectl_json(args, "get", "appaccounts", "-l", f"rolecall.dev/hub={hub}") or {"items": []}
    for account in accounts["items"]:
        if account["spec"]["email"].lower() == email:
            return account
    return None


def change(scim, state, args):
    leaver = state["users"][email_of(LEAVER)]
    mover = state["users"][email_of(MOVER)]
    # Deactivation, as Entra sends it: a string boolean in a Replace.
    ops = [{"op": "Replace", "path": "active", "value": "False"}]
    scim.call("PATCH", f"/Users/{leaver}", {"schemas": [PATCH_SCHEMA], "Operations": ops})
    print(f"   {LEAVER} deactivated (PATCH active \"False\"): every seat goes after the hubs' removal grace period")
    # A move: Entra removes the member from the old group and adds them to the new one in separate requests,
    # often in separate cycles.
    ops = [{"op": "Remove", "path": "members", "value": [{"value": mover}]}]
    scim.call("PATCH", f"/Groups/{state['groups']['Engineering']}", {"schemas": [PATCH_SCHEMA], "Operations": ops})
    print(f"   {MOVER} removed from Engineering ...")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        account = account_of(args, "design-tool", email_of(MOVER))
        status = (account or {}).get("status", {})
        if status.get("state") == "Removing":
            print(f"   ... design-tool shows the account Removing: {status.get('note', '')}")
            break
        time.sleep(1)
    ops = [{"op": "Add", "path": "members", "value": [{"value": mover}]}]
    scim.call("PATCH", f"/Groups/{state['groups']['Design']}", {"schemas": [PATCH_SCHEMA], "Operations": ops})
    print(f"   ... and added to Design within the grace period: a role update (viewer -> editor), not a removal")


# Account states that are still on their way somewhere.
IN_PROGRESS = {"PendingInvite", "InviteSent", "InviteExpired", "InviteFailed", "Removing"}


def wait(args):
    """Until every hub holds exactly the expected seats with their roles, nothing pending."""
    want = expected_seats(args.phase)
    deadline = time.monotonic() + args.timeout
    last = None
    while True:
        hubs = kubectl_json(args, "get", "businesshubs") or {"items": []}
        accounts = kubectl_json(args, "get", "appaccounts") or {"items": []}
        progress, done = [], True
        for hub in sorted(want):
            synced = any(c["type"] == "Synced" and c["status"] == "True"
                         for h in hubs["items"] if h["metadata"]["name"] == hub
                         for c in (h.get("status") or {}).get("conditions", []))
            seats, busy = {}, 0
            for a in accounts["items"]:
                s = a.get("status") or {}
                if a["spec"]["hub"] != hub:
                    continue
                if s.get("state") == "Onboarded" and s.get("table") == "Onboarded":
                    seats[a["spec"]["email"].lower()] = ",".join(s.get("appRoles", []))
                # A call announced or in flight, an invitation not done, a seat on its way out.
                if not s or s.get("operation") or s.get("state") in IN_PROGRESS:
                    busy += 1
            busy += 0 if synced else 1
            right = sum(1 for email, role in want[hub].items() if seats.get(email) == role)
            done = done and right == len(want[hub]) and len(seats) == len(want[hub]) and busy == 0
            progress.append(f"{hub}: {right}/{len(want[hub])} seats as granted, {busy} in progress")
        line = "; ".join(progress)
        if line != last:
            print(f"   {line}", flush=True)
            last = line
        if done:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: the hubs did not settle within {args.timeout}s; see the operator log")
        time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["push", "grants", "change", "wait"])
    parser.add_argument("--url", default="https://127.0.0.1:18444/scim/v2")
    parser.add_argument("--token", default="demo-token-change-me")
    parser.add_argument("--cacert")
    parser.add_argument("--state", required=True, help="JSON file of the ids the sidecar gave")
    parser.add_argument("--namespace", default="acme")
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--phase", choices=["initial", "changed"], default="initial")
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    try:
        with open(args.state) as f:
            state = json.load(f)
    except FileNotFoundError:
        state = {}
    state["namespace"] = args.namespace
    scim = Scim(args.url, args.token, args.cacert)
    if args.command == "push":
        push(scim, state)
    elif args.command == "grants":
        grants(state)
    elif args.command == "change":
        change(scim, state, args)
    else:
        wait(args)
    with open(args.state, "w") as f:
        json.dump(state, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
