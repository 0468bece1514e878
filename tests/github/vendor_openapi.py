#!/usr/bin/env python3
"""Vendors the part of GitHub's published OpenAPI description that the GitHub
connector uses: only the operations listed in OPERATIONS, with every
component they reach through `$ref`, into openapi/api.github.com.subset.json.

The source is the npm package @octokit/openapi (GitHub's own description,
republished by Octokit), file generated/api.github.com.json. The package
version is recorded in the subset (`x-rolecall-source`) so that the subset can
be remade and compared byte for byte:

    tests/github/vendor_openapi.py                  # remake from the recorded version
    tests/github/vendor_openapi.py --version 23.0.2 # move to another version
    tests/github/vendor_openapi.py --check          # exit 1 when the committed subset differs

Only this script needs npm; CI and the stand-in read the committed subset.
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "@octokit/openapi"
SOURCE_FILE = "package/generated/api.github.com.json"
HERE = os.path.dirname(os.path.abspath(__file__))
SUBSET = os.path.join(HERE, "openapi", "api.github.com.subset.json")

# (method, path): the connector's operations, per the contract in tests/github/README.md.
OPERATIONS = [
    ("get", "/orgs/{org}"),
    ("get", "/orgs/{org}/members"),
    ("get", "/orgs/{org}/memberships/{username}"),
    ("put", "/orgs/{org}/memberships/{username}"),
    ("delete", "/orgs/{org}/memberships/{username}"),
    ("get", "/orgs/{org}/invitations"),
    ("post", "/orgs/{org}/invitations"),
    ("delete", "/orgs/{org}/invitations/{invitation_id}"),
    ("get", "/orgs/{org}/failed_invitations"),
    ("get", "/orgs/{org}/teams"),
    ("get", "/orgs/{org}/teams/{team_slug}/members"),
    ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("put", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("delete", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("get", "/users/{username}"),
    ("get", "/rate_limit"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
]


def fetch_description(version: str) -> tuple[dict, dict]:
    """`npm pack` the package into a temporary directory and read its description."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{version}", "--pack-destination", tmp, "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
        packed = json.loads(out.stdout)[0]
        tarball = os.path.join(tmp, packed["filename"])
        with open(tarball, "rb") as f:
            sha256 = hashlib.sha256(f.read()).hexdigest()
        with tarfile.open(tarball) as tar:
            member = tar.extractfile(SOURCE_FILE)
            if member is None:
                raise SystemExit(f"{SOURCE_FILE} is not in {packed['filename']}")
            description = json.load(member)
        source = {
            "package": PACKAGE,
            "version": packed["version"],
            "file": SOURCE_FILE.removeprefix("package/"),
            "tarball_sha256": sha256,
            "integrity": packed.get("integrity"),
            "description_version": description.get("info", {}).get("version"),
        }
        return description, source


def refs_in(node) -> set[str]:
    """Every `$ref` string anywhere under `node`."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def resolve(description: dict, ref: str):
    if not ref.startswith("#/"):
        raise SystemExit(f"external $ref {ref!r} is not supported")
    node = description
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def subset(description: dict, source: dict) -> dict:
    paths: dict = {}
    for method, path in OPERATIONS:
        item = description["paths"].get(path)
        if item is None or method not in item:
            raise SystemExit(f"{method.upper()} {path} is not in {PACKAGE}@{source['version']}")
        target = paths.setdefault(path, {})
        if "parameters" in item:
            target["parameters"] = item["parameters"]
        target[method] = item[method]

    # Close over $ref: components reached from the paths, then from those components.
    components: dict = {}
    pending = sorted(refs_in(paths))
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = ref[2:].split("/")
        if len(parts) != 3 or parts[0] != "components":
            raise SystemExit(f"unexpected $ref {ref!r}")
        node = resolve(description, ref)
        components.setdefault(parts[1], {})[parts[2]] = node
        pending.extend(sorted(refs_in(node) - seen))

    out = {
        "openapi": description["openapi"],
        "x-rolecall-source": source,
        "info": description["info"],
        "servers": description.get("servers", []),
        "externalDocs": description.get("externalDocs"),
        "paths": {p: {m: v for m, v in sorted(ops.items())} for p, ops in sorted(paths.items())},
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }
    if out["externalDocs"] is None:
        del out["externalDocs"]
    return out


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def recorded_version() -> str | None:
    try:
        with open(SUBSET, encoding="utf-8") as f:
            return json.load(f)["x-rolecall-source"]["version"]
    except (OSError, KeyError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", help=f"{PACKAGE} version (default: the one recorded in the subset)")
    parser.add_argument("--check", action="store_true", help="compare with the committed subset instead of writing it")
    args = parser.parse_args()
    version = args.version or recorded_version()
    if not version:
        parser.error("no version recorded yet: pass --version")
    description, source = fetch_description(version)
    text = render(subset(description, source))
    if args.check:
        with open(SUBSET, encoding="utf-8") as f:
            committed = f.read()
        if committed != text:
            print(f"{SUBSET} differs from what {PACKAGE}@{version} makes: run {sys.argv[0]}", file=sys.stderr)
            return 1
        document = json.loads(text)
        schemas = len(document["components"].get("schemas", {}))
        print(f"{os.path.relpath(SUBSET)} is up to date: {PACKAGE}@{version}, {len(OPERATIONS)} operations, {schemas} schemas")
        return 0
    with open(SUBSET, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(SUBSET)} from {PACKAGE}@{version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
