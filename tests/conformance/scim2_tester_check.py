"""Runs scim2-tester (PyPI) against a running rolecall SCIM sidecar.

Usage: scim2_tester_check.py BASE_URL TOKEN
Prints every check's status, a summary per status, and exits 1 when any
check ends in ERROR or CRITICAL.
"""

import collections
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    client = SyncSCIMClient(Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30))
    results = check_server(client)
    failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    for r in results:
        where = f" [{r.resource_type}]" if r.resource_type else ""
        reason = f": {r.reason}" if r.reason and r.status not in (Status.SUCCESS,) else ""
        print(f"{r.status.name:10} {r.title}{where}{reason}")
    counts = collections.Counter(r.status.name for r in results)
    print("scim2-tester statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"scim2-tester: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
