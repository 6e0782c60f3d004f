#!/usr/bin/env python3
"""Summarises a `bench/run.sh` output directory: the candidate's numbers as ratios to NGINX
measured in the same run, and whether the performance targets were met. The `eg-users` run
(default threads, access log on) is compared with `nginx-log`, NGINX with its default access
log; the others with `nginx`, NGINX without one.

Usage: summary.py OUT_DIR   (reads OUT_DIR/eg-*/output.txt, the harness's RESULT lines, and
                             OUT_DIR/eg-*/results.tsv, its round-by-round rows)

Environment: STEAL_MAX (default 5) and OTHER_MAX (default 15), in % of a CPU: a round whose
two runs saw more hypervisor steal or more CPU used by other processes is counted as
disturbed in the round-by-round table.
"""
import csv
import glob
import os
import statistics
import sys

# Targets (informative; never asserted in tests).
RSS_LIMIT_KB = 32 * 1024
LARGE_BODY_MIN_RATIO = 0.9
# A round is disturbed when either run of the pair saw more than this (% of one CPU).
STEAL_MAX = float(os.environ.get("STEAL_MAX", "5"))
OTHER_MAX = float(os.environ.get("OTHER_MAX", "15"))


def results(path):
    out = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
            if kv.get("status") == "no_data":
                continue
            out[(kv["target"], int(kv["body"]), int(kv["conns"]))] = kv
    return out


def reference(name):
    """The NGINX target a candidate run is compared with."""
    return "nginx-log" if name == "eg-users" else "nginx"


def fnum(kv, k):
    try:
        return float(kv[k])
    except (KeyError, ValueError):
        return float("nan")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    runs = sorted(glob.glob(os.path.join(root, "eg-*", "output.txt")))
    if not runs:
        print("no eg-*/output.txt under %s" % root, file=sys.stderr)
        return 1
    print()
    print("## easegress-rs vs NGINX (same run; ratio = candidate / nginx, or / nginx-log for"
          " the users run)")
    print("%-6s %6s %5s | %8s %8s %6s | %7s %7s %6s | %7s %7s %6s | %6s %6s %6s | %6s %6s %6s | %s" % (
        "run", "body", "conns", "rps", "nginx", "x", "p50", "nginx", "x", "p99", "nginx", "x",
        "cpu/r", "nginx", "x", "rssMB", "nginx", "x", "targets"))
    for path in runs:
        name = os.path.basename(os.path.dirname(path))
        res = results(path)
        settings = sorted({(b, c) for (t, b, c) in res if t == name})
        for body, conns in settings:
            c = res[(name, body, conns)]
            ref = reference(name)
            n = res.get((ref, body, conns))
            if n is None:
                print("%-6s %6d %5d | no %s result" % (name, body, conns, ref))
                continue
            r = lambda k: fnum(c, k) / fnum(n, k) if fnum(n, k) else float("nan")
            rps_x, p99_x, cpu_x = r("rps"), r("p99_ms"), r("cpu_us_per_req")
            rss = fnum(c, "rss_kb")
            missed = []
            if name == "eg-1t":
                if rps_x < 1.0:
                    missed.append("rps")
                if p99_x > 1.0:
                    missed.append("p99")
                if cpu_x > 1.0:
                    missed.append("cpu")
                if rss > RSS_LIMIT_KB:
                    missed.append("rss")
            if name == "eg-users" and rps_x < 1.0:
                missed.append("rps")
            if body >= 16384 and conns >= 200 and rps_x < LARGE_BODY_MIN_RATIO:
                missed.append("16k/200<0.9")
            errs = int(fnum(c, "errors")) if c.get("errors") else 0
            if errs:
                missed.append("%d errors" % errs)
            print("%-6s %6d %5d | %8.0f %8.0f %6.2f | %7.3f %7.3f %6.2f | %7.3f %7.3f %6.2f | %6.1f %6.1f %6.2f | %6.1f %6.1f %6.2f | %s" % (
                name[3:], body, conns,
                fnum(c, "rps"), fnum(n, "rps"), rps_x,
                fnum(c, "p50_ms"), fnum(n, "p50_ms"), r("p50_ms"),
                fnum(c, "p99_ms"), fnum(n, "p99_ms"), p99_x,
                fnum(c, "cpu_us_per_req"), fnum(n, "cpu_us_per_req"), cpu_x,
                rss / 1024, fnum(n, "rss_kb") / 1024, r("rss_kb"),
                "ok" if not missed else "missed: " + ", ".join(missed)))
    print("   rps = median req/s over rounds; p50/p99 in ms; cpu/r = CPU us per request of the")
    print("   server's processes; rssMB = peak RSS (VmHWM) in MiB. Targets (1t): rps x >= 1.0,")
    print("   p99 x <= 1.0, cpu x <= 1.0, RSS <= 32 MiB; users: rps x nginx-log >= 1.0; every run:")
    print("   16 KiB/200 conns x >= 0.9. In the users run the nginx columns are nginx-log's.")
    for path in runs:
        rounds_table(os.path.join(os.path.dirname(path), "results.tsv"))
    return 0


def rounds_table(path):
    """Per-round ratios: each round runs the targets back to back, so a pair shares the
    machine's state; a pair where either run lost CPU to the hypervisor (steal) or to other
    processes is marked, and the median of the undisturbed pairs is printed beside the median
    of all."""
    if not os.path.exists(path):
        return
    name = os.path.basename(os.path.dirname(path))
    ref = reference(name)
    with open(path) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    by = {}
    for r in rows:
        try:
            rps = int(r["requests"]) / (int(r["duration_us"]) / 1e6)
            cpu = int(r["cpu_ticks"]) / int(r["requests"])
            key = (int(r["body"]), int(r["conns"]), r["round"])
            by.setdefault(key, {})[r["target"]] = (
                rps, cpu, float(r["steal_pct"]), float(r["other_cpu_pct"]))
        except (KeyError, ValueError, ZeroDivisionError):
            continue
    settings = sorted({(b, c) for (b, c, _) in by})
    if not settings:
        return
    print()
    print("## %s round by round: req/s x %s (cpu/r x %s) [steal %% ours/%s]"
          % (name, ref, ref, ref))
    print("   a '*' marks a disturbed round: steal > %g %% or other processes > %g %% of a CPU"
          % (STEAL_MAX, OTHER_MAX))
    for body, conns in settings:
        cells, every, quiet, cpu_quiet = [], [], [], []
        for (b, c, rnd) in sorted(k for k in by if k[:2] == (body, conns)):
            pair = by[(b, c, rnd)]
            if name not in pair or ref not in pair:
                continue
            (rc, cc, sc, oc), (rn, cn, sn, on) = pair[name], pair[ref]
            x, cx = rc / rn, (cc / cn if cn else float("nan"))
            disturbed = max(sc, sn) > STEAL_MAX or max(oc, on) > OTHER_MAX
            every.append(x)
            if not disturbed:
                quiet.append(x)
                cpu_quiet.append(cx)
            cells.append("%.2f (%.2f) [%.0f/%.0f]%s" % (x, cx, sc, sn, "*" if disturbed else ""))
        if not every:
            continue
        summary = "median %.2f" % statistics.median(every)
        if quiet:
            summary += "; undisturbed %d: median %.2f (cpu %.2f)" % (
                len(quiet), statistics.median(quiet), statistics.median(cpu_quiet))
        else:
            summary += "; no undisturbed round"
        print("%-6s %6d %5d | %s | %s" % (name[3:], body, conns, "  ".join(cells), summary))


if __name__ == "__main__":
    sys.exit(main())
