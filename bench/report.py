#!/usr/bin/env python3
"""Combines the whole-loop runs of `make bench` into one report.

Reads every `whole-loop-<users>.json` the benchmark wrote, and writes beside
the given output prefix:
  <prefix>.json  the runs, by size, as measured
  <prefix>.md    a human summary: each figure beside its reference and goal
  <prefix>.png   the propagation latency distribution of each size (matplotlib)

Usage: report.py OUT_PREFIX RUN.json [RUN.json ...]
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(paths):
    runs = [json.load(open(p)) for p in paths]
    return sorted(runs, key=lambda r: r["shape"]["users"])


def fmt(value, digits=2):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def summary(runs):
    machine = runs[0]["machine"]
    lines = [
        "# rolecall whole-loop benchmark",
        "",
        f"Machine: {machine['cpus']} CPUs ({machine.get('cpu_model')}), {fmt(machine.get('memory_gib'), 1)} GiB; "
        f"build profile {machine['profile']}; the API server, etcd, the operator, the sidecar, the scim2-server apps (one per hub) and "
        "the load all share these CPUs. Figures are from one run per size; timings are not asserted. "
        "Builds: " + ", ".join(f"{r['shape']['users']:,} users {r['machine'].get('commit') or 'unrecorded'} ({r['machine'].get('date', '?')[:10]})" for r in runs) + ".",
        "",
        "| users | teams | hubs | sync interval (s) | accounts | SCIM load (s) | users/s | convergence (s) | accounts/s | raw accounts/s | ratio (goal >= 0.8) "
        "| API writes per account | propagation p50 / p95 / p99 (s) (goal < 1 / - / < 3) | the app's own answer p50 / p99 (s) | all apps p99 (s) "
        "| steady writes (goal 0) | steady app writes (goal 0) | plan (s) | read-back: operator / app (s) "
        "| operator RSS MiB (goal < 256) | sidecar RSS MiB (goal < 64) |",
        "|" + "---|" * 21,
    ]
    def answer(a):
        # Reports written before the apps' own answer time was measured have none.
        return f"{fmt(a['p50'])} / {fmt(a['p99'])}" if a else "-"

    for r in runs:
        s, c, st, p = r["shape"], r["convergence"], r["steady_state"], r["propagation"]
        pi, pc = p["per_invitation_s"], p["per_change_all_apps_s"]
        procs = r["processes"]
        lines.append(
            "| "
            + " | ".join(
                [
                    fmt(s["users"]),
                    fmt(s["teams"]),
                    fmt(s["hubs"]),
                    fmt(s.get("sync_interval_s", 30)),
                    fmt(s["accounts"]),
                    fmt(r["load"]["total_s"], 1),
                    fmt(r["load"]["users_per_s"], 1),
                    fmt(c["onboarded_s"], 1),
                    fmt(c["accounts_per_s"], 1),
                    fmt(c["raw_accounts_per_s"], 1),
                    fmt(c["ratio_to_raw"]),
                    fmt(c["api_writes_per_account"]),
                    f"{fmt(pi['p50'])} / {fmt(pi['p95'])} / {fmt(pi['p99'])}",
                    answer(p.get("app_answer_per_invitation_s")),
                    fmt(pc["p99"]),
                    fmt(st["api_writes_total"], 0),
                    fmt(st["app_write_calls"]),
                    fmt(r["plan"]["mean_s"], 4),
                    f"{fmt(st['operator_read_back_s'], 3)} / {fmt(st['app_answer_s_per_read_back'], 3)}",
                    f"{fmt(procs['operator']['rss_mib']['steady_state'], 0)} (peak {fmt(procs['operator']['rss_mib']['peak'], 0)})",
                    f"{fmt(procs['sidecar']['rss_mib']['steady_state'], 0)} (peak {fmt(procs['sidecar']['rss_mib']['peak'], 0)})",
                ]
            )
            + " |"
        )
    lines += ["", "## API writes during convergence, by resource and verb", ""]
    for r in runs:
        writes = ", ".join(f"{k}: {int(v):,}" for k, v in sorted(r["convergence"]["api_writes"].items()))
        lines.append(f"- {r['shape']['users']:,} users: {writes}")
    lines += ["", "## CPU seconds by phase (load / convergence / steady state / propagation)", ""]
    for r in runs:
        parts = []
        for name, proc in sorted(r["processes"].items()):
            cpu = proc["cpu_s"]
            phases = [cpu["load"], cpu["convergence"], cpu["steady_state"], cpu.get("propagation")]
            parts.append(f"{name} " + " / ".join(fmt(v, 1) for v in phases))
        seconds = f"{fmt(r['steady_state']['seconds'], 0)} s of steady state"
        if r["propagation"].get("seconds") is not None:
            seconds += f", {fmt(r['propagation']['seconds'], 0)} s of propagation"
        lines.append(f"- {r['shape']['users']:,} users ({seconds}): " + "; ".join(parts))
    lines += ["", "## The API server's own time per write while changes propagate (ms)", ""]
    for r in runs:
        per_write = r["propagation"].get("api_server_s_per_write")
        if per_write:
            lines.append(f"- {r['shape']['users']:,} users: " + ", ".join(f"{k} {fmt(v * 1000, 0)}" for k, v in sorted(per_write.items())))
        else:
            lines.append(f"- {r['shape']['users']:,} users: not measured in this run")
    lines += ["", "![propagation latency](report.png)", ""]
    return "\n".join(lines)


def plot(runs, path):
    fig, (hist, cdf) = plt.subplots(1, 2, figsize=(12, 4.5))
    for r in runs:
        samples = sorted(r["propagation"]["samples_s"])
        if not samples:
            continue
        label = f"{r['shape']['users']:,} users ({len(samples):,} invitations)"
        hist.hist(samples, bins=40, alpha=0.5, label=label)
        cdf.plot(samples, [(i + 1) / len(samples) for i in range(len(samples))], label=label)
    hist.set_xlabel("seconds from the IdP's PATCH to the app's POST /Users")
    hist.set_ylabel("invitations")
    hist.set_title("Propagation latency")
    cdf.set_xlabel("seconds")
    cdf.set_ylabel("fraction of invitations delivered")
    cdf.set_title("Cumulative distribution")
    for ax in (hist, cdf):
        ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.axvline(3.0, color="grey", linestyle="--", linewidth=1)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    prefix, paths = sys.argv[1], sys.argv[2:]
    runs = load(paths)
    with open(prefix + ".json", "w") as out:
        json.dump({str(r["shape"]["users"]): r for r in runs}, out, indent=1)
    with open(prefix + ".md", "w") as out:
        out.write(summary(runs).replace("(report.png)", f"({prefix.rsplit('/', 1)[-1]}.png)"))
    plot(runs, prefix + ".png")
    print(f"report: {prefix}.json, {prefix}.md, {prefix}.png from {len(runs)} runs")


if __name__ == "__main__":
    main()
