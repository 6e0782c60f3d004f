#!/usr/bin/env python3
"""Apply latency: the time from sending a changed object to the server answering with the
new behaviour, for a Pipeline change and an HTTPServer rule change, each made through
the admin API (`PUT /apis/v2/objects/<name>`) and through `egctl apply -f`.

One easegress-server (its own temp home, an admin API on a free port) runs:

* Pipeline `apply-pipe`: a Mock answering `/pipe` with a marker; each apply sets a new
  marker;
* Pipelines `mock-a` / `mock-b`: Mocks answering `a` / `b`;
* HTTPServer `apply-server`: `/pipe` -> `apply-pipe`, `/route` -> `mock-a`; each HTTPServer
  apply points `/route` at the other one (only `rules` change, so the listener stays).

The clock starts before the PUT is sent (or before egctl is started) and stops when a
client, polling the gateway on one keep-alive connection without pause, first gets the
new body; the time to the PUT's answer (or egctl's exit) is recorded too. A time is an
upper bound by at most one poll (the `poll` line: the median duration of one request).
APPLIES applies per case, PAUSE_MS between two; percentiles are nearest-rank.

    python3 bench/apply-latency.py
    EG_BIN=/work/main/target/debug/easegress-server APPLIES=10 python3 bench/apply-latency.py

Environment: EG_BIN (bin/easegress-server), EGCTL_BIN (egctl next to EG_BIN), APPLIES (60),
PAUSE_MS (20), TIMEOUT_S (10, per apply), OUT (bench/out/apply-<UTC time>), CASES
(api-pipeline api-httpserver egctl-pipeline egctl-httpserver).
"""

import http.client
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
API = "/apis/v2/objects"
READY_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mock(name: str, path: str, body: str) -> dict:
    return {
        "name": name, "kind": "Pipeline", "flow": [{"filter": "mock"}],
        "filters": [{"name": "mock", "kind": "Mock",
                     "rules": [{"match": {"pathPrefix": path}, "code": 200, "body": body}]}],
    }


def server(port: int, route_backend: str) -> dict:
    return {
        "name": "apply-server", "kind": "HTTPServer", "address": "127.0.0.1", "port": port,
        "keepAlive": True, "https": False,
        "rules": [{"paths": [{"pathPrefix": "/pipe", "backend": "apply-pipe"},
                             {"pathPrefix": "/route", "backend": route_backend}]}],
    }


class Gateway:
    """A keep-alive client of the gateway that reconnects after an error."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None
        self.durations = []

    def get(self, path: str):
        t = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            body = r.read().decode(errors="replace")
            self.durations.append(time.perf_counter() - t)
            return r.status, body
        except (OSError, http.client.HTTPException):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None, None


def put(api_port: int, spec: dict) -> int:
    c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    c.request("PUT", f"{API}/{spec['name']}", json.dumps(spec).encode(),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def pct(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def main() -> int:
    bin_path = Path(os.environ.get("EG_BIN", HERE.parent / "bin" / "easegress-server"))
    egctl = Path(os.environ.get("EGCTL_BIN", bin_path.parent / "egctl"))
    applies = int(os.environ.get("APPLIES", "60"))
    pause = int(os.environ.get("PAUSE_MS", "20")) / 1000
    timeout = float(os.environ.get("TIMEOUT_S", "10"))
    cases = os.environ.get(
        "CASES", "api-pipeline api-httpserver egctl-pipeline egctl-httpserver").split()
    out = Path(os.environ.get(
        "OUT", HERE / "out" / time.strftime("apply-%Y%m%dT%H%M%SZ", time.gmtime())))
    out.mkdir(parents=True, exist_ok=True)
    if not bin_path.is_file():
        sys.exit(f"apply-latency: {bin_path} not found (set EG_BIN)")

    tmp = Path(tempfile.mkdtemp(prefix="eg-apply."))
    gw_port, api_port = free_port(), free_port()
    objects = [mock("apply-pipe", "/pipe", "m-0"), mock("mock-a", "/route", "a"),
               mock("mock-b", "/route", "b"), server(gw_port, "mock-a")]
    files = []
    for o in objects:
        f = tmp / f"{o['name']}.yaml"
        f.write_text(json.dumps(o))  # JSON is YAML
        files.append(str(f))
    for d in ("home", "data", "logs"):
        (tmp / d).mkdir()
    cmd = [str(bin_path), "--name", "apply-bench", "--home-dir", str(tmp / "home"),
           "--data-dir", str(tmp / "data"), "--log-dir", str(tmp / "logs"),
           "--api-addr", f"127.0.0.1:{api_port}", "--disable-access",
           "--initial-object-config-files", ",".join(files)]
    log = open(out / "server.out", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    gw = Gateway(gw_port)
    results = {}
    try:
        deadline = time.time() + READY_TIMEOUT_S
        while gw.get("/pipe") != (200, "m-0") or gw.get("/route") != (200, "a"):
            if time.time() > deadline or proc.poll() is not None:
                sys.exit("apply-latency: the gateway did not answer in time (see server.out)")
            time.sleep(0.1)
        gw.durations.clear()

        state = {"marker": 0, "backend": "mock-a"}

        def change(kind: str):
            """The next spec of `kind` and the body that shows it is served."""
            if kind == "pipeline":
                state["marker"] += 1
                m = f"m-{state['marker']}"
                return mock("apply-pipe", "/pipe", m), "/pipe", m
            state["backend"] = "mock-b" if state["backend"] == "mock-a" else "mock-a"
            return server(gw_port, state["backend"]), "/route", state["backend"][-1]

        for case in cases:
            how, kind = case.split("-")
            acks, serves, failed = [], [], 0
            for i in range(applies):
                spec, path, want = change(kind)
                if how == "egctl":
                    f = tmp / "apply.yaml"
                    f.write_text(json.dumps(spec))
                t0 = time.perf_counter()
                if how == "api":
                    ok = put(api_port, spec) == 200
                else:
                    ok = subprocess.run(
                        [str(egctl), "--server", f"http://127.0.0.1:{api_port}", "apply", "-f",
                         str(f)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    ).returncode == 0
                ack = time.perf_counter() - t0
                if not ok:
                    failed += 1
                    continue
                served = None
                while time.perf_counter() - t0 < timeout:
                    status, body = gw.get(path)
                    if status == 200 and body == want:
                        served = time.perf_counter() - t0
                        break
                if served is None:
                    failed += 1
                else:
                    acks.append(ack)
                    serves.append(served)
                time.sleep(pause)
            ms = lambda v: round(v * 1000, 2)
            results[case] = {
                "applies": applies, "failed": failed,
                "ack_ms": {"p50": ms(pct(acks, 50)), "p99": ms(pct(acks, 99)),
                           "max": ms(max(acks))} if acks else None,
                "serving_ms": {"p50": ms(pct(serves, 50)), "p90": ms(pct(serves, 90)),
                               "p99": ms(pct(serves, 99)), "max": ms(max(serves)),
                               "min": ms(min(serves))} if serves else None,
                "serving_all_ms": [ms(v) for v in serves],
            }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)

    poll = statistics.median(gw.durations) * 1000 if gw.durations else float("nan")
    lines = [f"{'case':<18} {'applies':>7} {'failed':>6} {'ack p50':>8} {'ack p99':>8} "
             f"{'serve p50':>9} {'p90':>7} {'p99':>7} {'max':>7}  (ms)"]
    for case, r in results.items():
        a, s = r["ack_ms"] or {}, r["serving_ms"] or {}
        lines.append(f"RESULT {case:<11} {r['applies']:>7} {r['failed']:>6} "
                     f"{a.get('p50', '-'):>8} {a.get('p99', '-'):>8} {s.get('p50', '-'):>9} "
                     f"{s.get('p90', '-'):>7} {s.get('p99', '-'):>7} {s.get('max', '-'):>7}")
    lines.append(f"poll: one gateway request takes {poll:.3f} ms (median)")
    text = "\n".join(lines)
    print(text)
    (out / "summary.txt").write_text(text + "\n")
    (out / "summary.json").write_text(json.dumps(
        {"results": results, "poll_ms": poll, "command": cmd}, indent=1))
    print(f"== results in {out}")
    return 0 if all(r["failed"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
