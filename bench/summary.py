#!/usr/bin/env python3
"""Summarises a `bench/run.sh` output directory: the candidate's numbers as ratios to NGINX
measured in the same run, and whether the performance targets were met.

Usage: summary.py OUT_DIR   (reads OUT_DIR/eg-*/output.txt, the harness's RESULT lines)
"""
import glob
import os
import sys

# Targets (informative; never asserted in tests).
RSS_LIMIT_KB = 32 * 1024
LARGE_BODY_MIN_RATIO = 0.9


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
    print("## easegress-rs vs NGINX (same run; ratio = candidate / nginx)")
    print("%-6s %6s %5s | %8s %8s %6s | %7s %7s %6s | %7s %7s %6s | %6s %6s %6s | %6s %6s %6s | %s" % (
        "run", "body", "conns", "rps", "nginx", "x", "p50", "nginx", "x", "p99", "nginx", "x",
        "cpu/r", "nginx", "x", "rssMB", "nginx", "x", "targets"))
    for path in runs:
        name = os.path.basename(os.path.dirname(path))
        res = results(path)
        settings = sorted({(b, c) for (t, b, c) in res if t == name})
        for body, conns in settings:
            c = res[(name, body, conns)]
            n = res.get(("nginx", body, conns))
            if n is None:
                print("%-6s %6d %5d | no nginx result" % (name, body, conns))
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
    print("   p99 x <= 1.0, cpu x <= 1.0, RSS <= 32 MiB; every run: 16 KiB/200 conns x >= 0.9.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
