#!/usr/bin/env python3
"""Holds the Meta stand-in to the examples it was written from.

For each tests/meta/examples/*.json (a request and the answer Meta's reference
shows for it, with where it came from), this starts the stand-in, seeds a
business with one of everything, makes the request and compares the answer's
shape with the example's: the same status, and, recursively, the same keys
with the same JSON types (lists by their first item; the usage headers parsed
as the JSON they carry). It prints one line per example and exits 1 if any
differs. tests/integration/meta_standin.rs runs it.

    python3 tests/meta/check_examples.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "examples")
VERSION = "v25.0"
TOKEN = "EAAB-check-examples"
BUSINESS = "1000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, params: dict | None = None, token: str | None = None, body: dict | None = None):
    """(status, headers, parsed body) of one request; form-encoded params for POST, query otherwise."""
    data = None
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif params and method == "POST":
        data = urlencode(params).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif params:
        url = f"{url}?{urlencode(params)}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")


def shape_errors(example, answer, where: str = "body") -> list[str]:
    """Where `answer` differs from `example` in keys or JSON types."""
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    ek, ak = kinds[type(example)], kinds[type(answer)]
    if ek != ak:
        return [f"{where}: the example has {ek}, the stand-in {ak}"]
    if isinstance(example, dict):
        errors = []
        missing = sorted(set(example) - set(answer))
        extra = sorted(set(answer) - set(example))
        if missing:
            errors.append(f"{where}: missing {missing}")
        if extra:
            errors.append(f"{where}: not in the example {extra}")
        for key in sorted(set(example) & set(answer)):
            errors += shape_errors(example[key], answer[key], f"{where}.{key}")
        return errors
    if isinstance(example, list):
        if example and not answer:
            return [f"{where}: the example has items, the stand-in none"]
        if example and answer:
            return shape_errors(example[0], answer[0], f"{where}[0]")
    return []


def main() -> int:
    port, admin_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "standin.py"), "--port", str(port), "--admin-port", str(admin_port), "--business", BUSINESS, "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout.readline().strip() != "ready":
            print("the stand-in did not start", file=sys.stderr)
            return 1
        graph = f"http://127.0.0.1:{port}/{VERSION}"
        admin = f"http://127.0.0.1:{admin_port}"
        # One of everything.
        ad = call("POST", f"{admin}/assets", body={"kind": "ad_account", "name": "Brand US"})[2]
        call("POST", f"{admin}/assets", body={"kind": "page", "name": "Acme Page"})
        user = call("POST", f"{admin}/business_users", body={"name": "Ann Example", "email": "ann@example.com", "role": "ADMIN", "assets": {ad["id"]: ["ADVERTISE", "ANALYZE"]}})[2]
        call("POST", f"{admin}/system_users", body={"name": "rolecall", "role": "ADMIN"})
        partner = call("POST", f"{admin}/partners", body={"name": "Agency Partner", "assets": {ad["id"]: ["ADVERTISE", "ANALYZE"]}})[2]
        call("POST", f"{graph}/{BUSINESS}/business_users", {"email": "pending@example.com", "role": "EMPLOYEE"}, TOKEN)
        other = call("POST", f"{admin}/business_users", body={"name": "Leaving", "email": "leaving@example.com", "role": "EMPLOYEE", "assets": {ad["id"]: ["ANALYZE"]}})[2]
        ids = {
            "{business_id}": BUSINESS,
            "{ad_account_id}": ad["id"],
            "{business_user_id}": user["id"],
            "{partner_id}": partner["id"],
            "{missing_id}": "999",
        }

        def fill(text: str) -> str:
            for k, v in ids.items():
                text = text.replace(k, v)
            return text

        failures = 0
        for name in sorted(os.listdir(EXAMPLES)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
                example = json.load(f)
            request, response = example["request"], example["response"]
            params = {k: fill(v) for k, v in request.get("params", {}).items()}
            path = fill(request["path"])
            # Removals take the second person away, so the reads that follow still see the first.
            if name == "business_user_delete.json":
                path = f"/{other['id']}"
            if name == "assigned_users_delete.json":
                params["user"] = other["id"]
            if request.get("throttled"):
                call("POST", f"{admin}/faults", body={"kind": "throttle", "code": 4, "regain_seconds": 1})
            if "permissions" in request:
                call("POST", f"{admin}/token", body={"permissions": request["permissions"]})
            status, headers, body = call(request["method"], f"{graph}{path}", params, TOKEN)
            if "permissions" in request:
                call("POST", f"{admin}/token", body={"permissions": ["business_management", "ads_management"]})
            if request.get("throttled"):
                call("POST", f"{admin}/usage", body={"clear": True})
            errors = []
            if status != response["status"]:
                errors.append(f"status {status}, the example {response['status']}")
            if "body" in response:
                errors += shape_errors(response["body"], body)
            for header, shape in response.get("headers", {}).items():
                value = next((v for k, v in headers.items() if k.lower() == header.lower()), None)
                if value is None:
                    errors.append(f"header {header} missing")
                    continue
                shape = json.loads(fill(json.dumps(shape)))
                errors += shape_errors(shape, json.loads(value), header)
            source = example["source"]["url"]
            if errors:
                failures += 1
                print(f"DIFFERS {name} ({source}):")
                for e in errors:
                    print(f"  {e}")
            else:
                print(f"same shape {name} ({request['method']} {request['path']} -> {status})")
        print(f"{failures} of {len([n for n in os.listdir(EXAMPLES) if n.endswith('.json')])} examples differ")
        return 1 if failures else 0
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
