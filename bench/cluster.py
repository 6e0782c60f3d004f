#!/usr/bin/env python3
"""Cluster benchmark: three (MEMBERS) primaries on loopback, each supervising its etcd.

Measures, in this order:

1. formation: spawning the primaries -> every member's /healthz is 200 and every member
   lists all members in /status/members;
2. apply -> visible / serving: APPLIES updates of one Pipeline (a Mock whose body is a
   marker), each sent to a rotating member; for every member the time until its admin API
   returns the new spec and until its own gateway answers with the new body;
3. quorum loss, twice: SIGSTOP (then, second run, SIGKILL) the etcd children of enough
   primaries to lose quorum while load runs through one member's gateway; what API writes
   answer meanwhile, how many gateway requests fail, and how long until a new apply is
   visible and served everywhere again;
4. re-sync after a partition: SIGSTOP one member's etcd, apply RESYNC_CHANGES changes
   elsewhere, SIGCONT, time until the partitioned member shows (and serves) the last one;
5. memory: VmRSS of the members and of their etcd children, then of one member started
   without cluster flags (embedded store) with the same objects.

Objects are cluster-wide, so on one host the gateway of every member cannot listen on the
same port. Each member therefore gets its own HTTPServer (`bench-gw-<member>`, its own
port, all routing /bench to the one Pipeline). Every member runs every HTTPServer, but only
the first to bind a port serves it; the others report the bind error and retry. To make
the owner of each port known, each HTTPServer is created while the other member processes
are SIGSTOPped, and the owner is then checked in /proc (the pid holding the listening
socket). See bench/README.md ("Cluster: bench/cluster.py") for what each number means.

Standard library only; wrk is used for load when present (LOAD=python forces the built-in
threaded generator). Every process started here is stopped by pid on exit.

    python3 bench/cluster.py                     # bin/easegress-server, 3 members
    EG_BIN=target/debug APPLIES=30 python3 bench/cluster.py
    python3 bench/cluster.py --help
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = "/apis/v2"
RESERVED_PORTS = {2379, 2380, 2381, 10080}
PIPELINE = "bench-pipeline"
GW_PATH = "/bench"
T0 = time.perf_counter()


def now() -> float:
    return time.perf_counter()


def log(msg: str) -> None:
    print(f"[{now() - T0:8.2f}s] {msg}", file=sys.stderr, flush=True)


def env(name: str, default):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    return type(default)(v) if default is not None else v


# --------------------------------------------------------------------------- ports, HTTP

_taken: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now, never one of the well-known Easegress/etcd ports,
    and never handed out twice by this script."""
    for _ in range(500):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p not in _taken and p not in RESERVED_PORTS:
            _taken.add(p)
            return p
    raise RuntimeError("no free port")


class Client:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port; reconnects after any error.
    Not thread-safe: one thread uses one client at a time."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, timeout: float | None = None):
        """(status, headers, body); raises OSError/HTTPException after closing."""
        t = timeout or self.timeout
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=t)
        elif self.conn.sock is not None:
            self.conn.sock.settimeout(t)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
            if r.will_close:
                self.close()
            return r.status, r.headers, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise


def one_request(port: int, method: str, path: str, body=None, headers=None, timeout=5.0):
    c = Client(port, timeout)
    try:
        return c.request(method, path, body, headers)
    finally:
        c.close()


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values, None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def dist_ms(values: list[float]) -> dict:
    """p50/p99/max in ms of durations given in seconds."""
    out = {"n": len(values)}
    for name, p in (("p50", 50), ("p99", 99), ("max", 100)):
        v = pct(values, p)
        out[name] = None if v is None else round(v * 1000, 2)
    return out


# --------------------------------------------------------------------------- objects

def pipeline_spec(marker: str) -> dict:
    return {
        "name": PIPELINE, "kind": "Pipeline",
        "flow": [{"filter": "mock"}],
        "filters": [{
            "name": "mock", "kind": "Mock",
            "rules": [{"match": {"pathPrefix": GW_PATH}, "code": 200,
                       "headers": {"Content-Type": "text/plain"}, "body": marker}],
        }],
    }


def server_spec(name: str, port: int) -> dict:
    return {
        "name": name, "kind": "HTTPServer", "address": "127.0.0.1", "port": port,
        "https": False, "keepAlive": True,
        "rules": [{"paths": [{"pathPrefix": GW_PATH, "backend": PIPELINE}]}],
    }


def spec_marker(body: bytes) -> str | None:
    try:
        return json.loads(body)["filters"][0]["rules"][0]["body"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


JSON = {"Content-Type": "application/json"}


# --------------------------------------------------------------------------- /proc

def proc_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def proc_state(pid: int) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                return line.split()[1]
    except OSError:
        return None
    return None


def mem_kb(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k = line.split(":", 1)[0]
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(line.split()[1])
    except OSError:
        pass
    return out


def listeners(port: int) -> set[int]:
    """Socket inodes listening on 127.0.0.1:port or *:port (IPv4 and IPv6)."""
    inodes = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(f).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "0A":
                continue
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    return inodes


def connections(pid: int) -> list[int]:
    """Remote ports of the established loopback TCP connections of a process."""
    mine = pid_inodes(pid)
    out = []
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(f).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 10 and cols[3] == "01" and cols[9] in mine:
                out.append(int(cols[2].rsplit(":", 1)[1], 16))
    return out


def pid_inodes(pid: int) -> set[str]:
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------- processes

class Member:
    def __init__(self, name: str, role: str, out: Path, server: Path):
        self.name = name
        self.role = role
        self.server = server
        self.home = out / name
        self.api_port = free_port()
        self.client_port = free_port() if role == "primary" else None
        self.peer_port = free_port() if role == "primary" else None
        self.gw_port: int | None = None  # the gateway this member owns, once pinned
        self.proc: subprocess.Popen | None = None
        self.args: list[str] = []

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def command(self, initial_cluster: str, primary_peers: str, timeout: str,
                etcd_bin: str | None) -> list[str]:
        a = [str(self.server), "--name", self.name, "--home-dir", str(self.home),
             "--api-addr", f"127.0.0.1:{self.api_port}", "--log-dir", str(self.home / "log"),
             "--disable-access"]
        if self.role == "standalone":
            return a
        a += ["--cluster-name", "bench", "--cluster-role", self.role,
              "--cluster-request-timeout", timeout]
        if self.role == "primary":
            a += ["--listen-client-urls", self.client_url,
                  "--advertise-client-urls", self.client_url,
                  "--listen-peer-urls", self.peer_url,
                  "--initial-advertise-peer-urls", self.peer_url,
                  "--initial-cluster", initial_cluster]
            if etcd_bin:
                a += ["--etcd-binary", etcd_bin]
        else:
            a += ["--primary-listen-peer-urls", primary_peers]
        return a

    def start(self, args: list[str]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.args = args
        out = open(self.home / "server.out", "ab")
        self.proc = subprocess.Popen(args, cwd=str(self.home), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def etcd_pid(self) -> int | None:
        """The etcd child recorded in <home>/data/etcd.pid, only if that pid is alive and
        really an etcd whose command line names this member's home (never a reused pid)."""
        try:
            pid = int((self.home / "data" / "etcd.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        cmd = proc_cmdline(pid)
        if not cmd or "etcd" not in os.path.basename(cmd[0]):
            return None
        if not any(str(self.home) in c for c in cmd):
            return None
        return pid

    def tail(self, n: int = 30) -> str:
        chunks = []
        for p in [self.home / "server.out", *sorted((self.home / "log").glob("*.log"))]:
            try:
                lines = p.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                continue
            chunks.append(f"--- {p}\n" + "\n".join(lines))
        return "\n".join(chunks)


class Tracker:
    """Every process this script started or signalled, so that cleanup can reach it by pid."""

    def __init__(self):
        self.members: list[Member] = []
        self.etcd: dict[int, Member] = {}
        self.stopped: set[int] = set()
        self.loads: list = []

    def note_etcd(self) -> None:
        for m in self.members:
            p = m.etcd_pid()
            if p:
                self.etcd[p] = m

    def signal(self, pid: int, sig: signal.Signals, what: str) -> None:
        log(f"{sig.name} {what} (pid {pid})")
        os.kill(pid, sig)
        if sig == signal.SIGSTOP:
            self.stopped.add(pid)
        elif sig in (signal.SIGCONT, signal.SIGKILL):
            self.stopped.discard(pid)

    def etcd_alive(self, pid: int, m: Member) -> bool:
        cmd = proc_cmdline(pid)
        return bool(cmd) and "etcd" in os.path.basename(cmd[0]) and \
            any(str(m.home) in c for c in cmd) and proc_state(pid) not in (None, "Z")

    def stop_members(self, members: list[Member], grace: float = 20.0) -> dict:
        """SIGTERM the members by pid, SIGKILL after grace; then any etcd child still alive
        (a member should stop its own) gets SIGTERM, then SIGKILL. Returns what was left."""
        self.note_etcd()
        for pid in list(self.stopped):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.stopped.discard(pid)
        for m in members:
            if m.alive():
                os.kill(m.pid, signal.SIGTERM)
        deadline = now() + grace
        killed = []
        for m in members:
            if m.proc is None:
                continue
            try:
                m.proc.wait(timeout=max(0.1, deadline - now()))
            except subprocess.TimeoutExpired:
                killed.append(m.name)
                os.kill(m.pid, signal.SIGKILL)
                m.proc.wait()
        left = []
        names = {m.name for m in members}
        for pid, m in list(self.etcd.items()):
            if m.name not in names:
                continue
            # give a member's own shutdown a moment to finish stopping its child
            t = now() + 5
            while now() < t and self.etcd_alive(pid, m):
                time.sleep(0.05)
            if self.etcd_alive(pid, m):
                left.append(f"{m.name}:{pid}")
                os.kill(pid, signal.SIGTERM)
                t = now() + 10
                while now() < t and self.etcd_alive(pid, m):
                    time.sleep(0.05)
                if self.etcd_alive(pid, m):
                    os.kill(pid, signal.SIGKILL)
            del self.etcd[pid]
        return {"members_sigkilled": killed, "etcd_left_running": left}

    def cleanup(self) -> None:
        for ld in self.loads:
            try:
                ld.stop()
            except Exception:
                pass
        self.stop_members([m for m in self.members if m.proc is not None])


# --------------------------------------------------------------------------- load

class WrkLoad:
    """wrk against one URL until stop(); a Lua delay() spaces each connection's requests."""

    def __init__(self, url: str, conns: int, delay_ms: float, out: Path, tag: str):
        self.url, self.conns, self.delay_ms = url, conns, delay_ms
        self.script = out / "wrk-delay.lua"
        self.output = out / f"wrk-{tag}.txt"
        self.proc = None

    def start(self):
        self.script.write_text(f"function delay()\n  return {self.delay_ms:g}\nend\n")
        self.t = now()
        with open(self.output, "wb") as f:
            self.proc = subprocess.Popen(
                ["wrk", "-t1", f"-c{self.conns}", "-d3600s", "--timeout", "2s", "--latency",
                 "-s", str(self.script), self.url],
                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        time.sleep(0.3)
        return self

    def stop(self) -> dict:
        if self.proc is None:
            return {}
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        return parse_wrk(self.output.read_text(errors="replace"), now() - self.t)


def _wrk_ms(s: str) -> float:
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)


def parse_wrk(text: str, seconds: float) -> dict:
    r = {"tool": "wrk", "seconds": round(seconds, 2), "requests": 0, "non2xx": 0,
         "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
         "latency_ms": {}}
    for line in text.splitlines():
        w = line.split()
        if "requests in" in line:
            r["requests"] = int(w[0])
        elif line.strip().startswith("Socket errors:"):
            for k in r["socket_errors"]:
                i = w.index(k)
                r["socket_errors"][k] = int(w[i + 1].rstrip(","))
        elif line.strip().startswith("Non-2xx"):
            r["non2xx"] = int(w[-1])
        elif w and w[0] == "Latency" and len(w) >= 4:
            r["latency_ms"]["max"] = round(_wrk_ms(w[3]), 2)
        elif w and w[0] in ("50%", "99%"):
            r["latency_ms"]["p" + w[0][:-1]] = round(_wrk_ms(w[1]), 2)
    r["failed"] = r["non2xx"] + sum(r["socket_errors"].values())
    return r


class PyLoad:
    """Threaded keep-alive GETs (the fallback without wrk): conns threads, each sleeping
    delay_ms between requests; 2 s timeout per request, like wrk's --timeout."""

    def __init__(self, url: str, conns: int, delay_ms: float, out: Path, tag: str):
        u = url.split("//", 1)[1]
        hostport, _, path = u.partition("/")
        self.port = int(hostport.rsplit(":", 1)[1])
        self.path = "/" + path
        self.conns, self.delay = conns, delay_ms / 1000
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.lat: list[float] = []
        self.counts = {"requests": 0, "non2xx": 0, "connect": 0, "read": 0, "write": 0,
                       "timeout": 0}
        self.threads: list[threading.Thread] = []

    def _worker(self):
        c = Client(self.port, 2.0)
        while not self.stop_ev.is_set():
            t = now()
            kind = None
            try:
                st, _, _ = c.request("GET", self.path)
                if st >= 400:
                    kind = "non2xx"
            except socket.timeout:
                kind = "timeout"
            except ConnectionRefusedError:
                kind = "connect"
            except (OSError, http.client.HTTPException):
                kind = "read"
            d = now() - t
            with self.lock:
                self.counts["requests"] += 1
                self.lat.append(d)
                if kind:
                    self.counts[kind] += 1
            if self.delay:
                time.sleep(self.delay)
        c.close()

    def start(self):
        self.t = now()
        for _ in range(self.conns):
            th = threading.Thread(target=self._worker, daemon=True)
            th.start()
            self.threads.append(th)
        time.sleep(0.3)
        return self

    def stop(self) -> dict:
        if not self.threads:
            return {}
        self.stop_ev.set()
        for th in self.threads:
            th.join(timeout=5)
        self.threads = []
        c = self.counts
        r = {"tool": "python", "seconds": round(now() - self.t, 2), "requests": c["requests"],
             "non2xx": c["non2xx"],
             "socket_errors": {k: c[k] for k in ("connect", "read", "write", "timeout")},
             "latency_ms": {k: v for k, v in dist_ms(self.lat).items() if k != "n"}}
        r["failed"] = r["non2xx"] + sum(r["socket_errors"].values())
        return r


class Timeline:
    """Polls one member's admin API in the background and keeps when each marker of the
    pipeline was first seen."""

    def __init__(self, m: Member, poll_ms: float):
        self.m, self.poll = m, poll_ms / 1000
        self.first: dict[str, float] = {}
        self.last: str | None = None
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        c = Client(self.m.api_port, 2.0)
        while not self.stop_ev.is_set():
            try:
                st, _, body = c.request("GET", f"{API}/objects/{PIPELINE}")
                mk = spec_marker(body) if st == 200 else None
                if mk is not None:
                    self.first.setdefault(mk, now())
                    self.last = mk
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(self.poll)
        c.close()

    def start(self) -> "Timeline":
        self.th.start()
        return self

    def stop(self) -> None:
        self.stop_ev.set()
        self.th.join()


# --------------------------------------------------------------------------- the bench

class Bench:
    def __init__(self, a: argparse.Namespace):
        self.a = a
        self.out = Path(a.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.server = self.find_server(a.eg_bin)
        self.tr = Tracker()
        self.summary: dict = {"config": {}, "notes": []}
        self.version = 0
        self.load_cls = self.pick_load(a.load)

    # ---- setup helpers

    @staticmethod
    def find_server(eg_bin: str | None) -> Path:
        cands = [Path(eg_bin)] if eg_bin else [ROOT / "bin", ROOT / "target/release",
                                                ROOT / "target/debug"]
        for d in cands:
            p = (d if d.is_absolute() else Path.cwd() / d) / "easegress-server"
            if p.is_file() and os.access(p, os.X_OK):
                return p.resolve()
        sys.exit(f"easegress-server not found in {', '.join(map(str, cands))} "
                 "(run make, or set EG_BIN)")

    @staticmethod
    def pick_load(choice: str):
        if choice == "wrk" or (choice == "auto" and shutil.which("wrk")):
            if not shutil.which("wrk"):
                sys.exit("LOAD=wrk but wrk is not installed")
            return WrkLoad
        return PyLoad

    def load(self, port: int, tag: str):
        ld = self.load_cls(f"http://127.0.0.1:{port}{GW_PATH}", self.a.conns,
                           self.a.load_delay_ms, self.out, tag)
        self.tr.loads.append(ld)
        return ld.start()

    @property
    def members(self) -> list[Member]:
        return [m for m in self.tr.members if m.role != "standalone"]

    @property
    def primaries(self) -> list[Member]:
        return [m for m in self.members if m.role == "primary"]

    def marker(self, tag: str) -> str:
        self.version += 1
        return f"{tag}-{self.version}"

    def put(self, m: Member, marker: str, timeout: float = 30.0):
        """PUT the pipeline with this marker on m: (status, X-Config-Version, seconds, text)."""
        t = now()
        try:
            st, h, body = one_request(m.api_port, "PUT", f"{API}/objects/{PIPELINE}",
                                      json.dumps(pipeline_spec(marker)).encode(), JSON, timeout)
            return st, h.get("X-Config-Version"), now() - t, body[:300].decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            return None, None, now() - t, repr(e)

    def wait_all(self, t0: float, want, members: list[Member], timeout: float,
                 clients: dict | None = None, gateways: bool = True) -> dict:
        """Poll (every POLL_MS) each member's admin API until the pipeline's marker is
        `want` (a string, or a predicate on the marker) and, for members owning a gateway,
        the gateway until its body is. Seconds since t0 per target, None on timeout. Also
        the X-Config-Version each member answered with it."""
        ok = want if callable(want) else (lambda mk: mk == want)
        res: dict = {}
        versions: dict = {}
        req_s: dict = {"visible": [], "serving": []}
        brackets: list[float] = []
        lock = threading.Lock()
        deadline = t0 + timeout
        own = clients is None
        clients = {} if clients is None else clients
        stop = threading.Event()

        def poll(key, port, path, check):
            c = clients.setdefault(key, Client(port, 2.0))
            miss = t0  # start of the last poll that did not see the change
            while now() < deadline and not stop.is_set():
                t = now()
                try:
                    st, h, body = c.request("GET", path)
                    end = now()
                    with lock:
                        req_s[key[1]].append(end - t)
                    if st == 200 and check(body):
                        with lock:
                            res[key] = end - t0
                            brackets.append(end - max(miss, t0))
                            if key[1] == "visible":
                                versions[key[0]] = h.get("X-Config-Version")
                        return
                except (OSError, http.client.HTTPException):
                    pass
                miss = t
                time.sleep(self.a.poll_ms / 1000)
            with lock:
                res[key] = None

        def visible(b: bytes) -> bool:
            mk = spec_marker(b)
            return mk is not None and ok(mk)

        def serving(b: bytes) -> bool:
            return ok(b.decode(errors="replace"))

        threads = []
        for m in members:
            threads.append(threading.Thread(target=poll, args=(
                (m.name, "visible"), m.api_port, f"{API}/objects/{PIPELINE}", visible)))
            if gateways and m.gw_port:
                threads.append(threading.Thread(target=poll, args=(
                    (m.name, "serving"), m.gw_port, GW_PATH, serving)))
        for th in threads:
            th.start()
        return {"threads": threads, "res": res, "versions": versions, "stop": stop,
                "req_s": req_s, "brackets": brackets,
                "clients": clients if own else {}}

    @staticmethod
    def join(w: dict) -> dict:
        for th in w["threads"]:
            th.join()
        for c in w["clients"].values():
            c.close()
        return w

    # ---- phases

    def formation(self) -> None:
        a = self.a
        out = self.out
        ms = [Member(f"m{i + 1}", "primary", out, self.server) for i in range(a.members)]
        ms += [Member(f"s{i + 1}", "secondary", out, self.server) for i in range(a.secondaries)]
        self.tr.members += ms
        initial = ",".join(f"{m.name}={m.peer_url}" for m in ms if m.role == "primary")
        peers = ",".join(m.peer_url for m in ms if m.role == "primary")
        cmds = {m.name: m.command(initial, peers, a.request_timeout, a.etcd_bin) for m in ms}
        (out / "commands.txt").write_text(
            "\n".join(" ".join(c) for c in cmds.values()) + "\n")
        log(f"starting {a.members} primaries + {a.secondaries} secondaries "
            f"({self.server})")
        t0 = now()
        for m in ms:
            m.start(cmds[m.name])
        want = len(ms)
        health: dict = {}
        listed: dict = {}
        last: dict = {}
        clients = {m.name: Client(m.api_port, 2.0) for m in ms}
        deadline = t0 + a.formation_timeout
        while now() < deadline and len(listed) < want:
            for m in ms:
                if not m.alive():
                    raise RuntimeError(f"{m.name} exited with {m.proc.returncode} during "
                                       f"formation\n{m.tail()}")
                if m.name in listed:
                    continue
                c = clients[m.name]
                try:
                    if m.name not in health:
                        st, _, body = c.request("GET", f"{API}/healthz")
                        last[m.name] = f"healthz {st} {body[:120]!r}"
                        if st != 200:
                            continue
                        health[m.name] = now() - t0
                    st, _, body = c.request("GET", f"{API}/status/members")
                    last[m.name] = f"status/members {st} {body[:200]!r}"
                    if st == 200:
                        names = {(x.get("options") or {}).get("Name") for x in json.loads(body)}
                        if len(names) >= want:
                            listed[m.name] = now() - t0
                except (OSError, http.client.HTTPException, ValueError,
                        AttributeError, TypeError) as e:
                    last[m.name] = repr(e)
            time.sleep(0.01)
        for c in clients.values():
            c.close()
        if len(listed) < want:
            tails = "\n".join(m.tail() for m in ms)
            raise RuntimeError(f"cluster did not form within {a.formation_timeout}s; last "
                               f"answers: {json.dumps(last, indent=1)}\n{tails}")
        self.tr.note_etcd()
        missing = [m.name for m in self.primaries if not m.etcd_pid()]
        if missing:
            self.summary["notes"].append(f"no live etcd pid in <home>/data/etcd.pid for "
                                         f"{missing}")
        self.summary["formation"] = {
            "healthz_all_s": round(max(health.values()), 3),
            "members_listed_all_s": round(max(listed.values()), 3),
            "per_member": {n: {"healthz_s": round(health[n], 3), "listed_s": round(listed[n], 3)}
                           for n in listed},
        }
        log(f"formed: healthz everywhere after {max(health.values()):.2f}s, "
            f"{want} members listed everywhere after {max(listed.values()):.2f}s")

    def setup_objects(self) -> None:
        """The pipeline, then one gateway per member, each created while the other member
        processes are stopped, so that member binds it first."""
        first = self.members[0]
        m0 = self.marker("init")
        st, _, _, text = self.post(first, pipeline_spec(m0))
        if st != 201:
            raise RuntimeError(f"POST pipeline on {first.name}: {st} {text}")
        self.join(self.wait_all(now(), m0, self.members, 30, gateways=False))
        owners = {}
        for m in self.members:
            port = free_port()
            others = [o for o in self.members if o is not m]
            for o in others:
                self.tr.signal(o.pid, signal.SIGSTOP, f"member {o.name} while "
                               f"{m.name} binds its gateway")
            try:
                st, _, _, text = self.post(m, server_spec(f"bench-gw-{m.name}", port))
                if st != 201:
                    raise RuntimeError(f"POST bench-gw-{m.name} on {m.name}: {st} {text}")
                deadline = now() + 30
                while now() < deadline:
                    try:
                        gst, _, body = one_request(port, "GET", GW_PATH, timeout=1)
                        if gst == 200 and body == m0.encode():
                            break
                    except (OSError, http.client.HTTPException):
                        pass
                    time.sleep(0.01)
            finally:
                for o in others:
                    self.tr.signal(o.pid, signal.SIGCONT, f"member {o.name}")
            owners[m.name] = port
        time.sleep(1.0)  # let the others try (and fail) to bind
        pinned = {}
        for m in self.members:
            port = owners[m.name]
            inodes = listeners(port)
            holders = [o.name for o in self.members if pid_inodes(o.pid) & inodes]
            pinned[m.name] = {"port": port, "listeners": len(inodes), "held_by": holders}
            if holders == [m.name] and len(inodes) == 1:
                m.gw_port = port
            else:
                self.summary["notes"].append(
                    f"gateway bench-gw-{m.name} (port {port}) is held by {holders} "
                    f"({len(inodes)} listening sockets): not measured as {m.name}'s gateway")
        self.summary["gateways"] = pinned
        log("gateways: " + ", ".join(f"{n}:{v['port']} held by {v['held_by']}"
                                     for n, v in pinned.items()))

    def post(self, m: Member, spec: dict):
        t = now()
        try:
            st, h, body = one_request(m.api_port, "POST", f"{API}/objects",
                                      json.dumps(spec).encode(), JSON, 30)
            return st, h.get("X-Config-Version"), now() - t, body[:300].decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            return None, None, now() - t, repr(e)

    def warm_up(self, ports: list[int], n: int = 500) -> None:
        for port in ports:
            c = Client(port, 5)
            for _ in range(n):
                try:
                    c.request("GET", GW_PATH)
                except (OSError, http.client.HTTPException):
                    pass
            c.close()

    def memory_snapshot(self, members: list[Member]) -> dict:
        snap = {}
        for m in members:
            e = {"member_kb": mem_kb(m.pid)}
            ep = m.etcd_pid()
            if ep:
                e["etcd_kb"] = mem_kb(ep)
            snap[m.name] = e
        return snap

    def applies(self) -> None:
        a = self.a
        ms = self.members
        clients: dict = {}
        rows = []
        ack, vis_all, srv_all, vis_local, vis_remote, srv_local, srv_remote = ([] for _ in range(7))
        failures = []
        version_mismatch = 0
        poll_req: dict = {"visible": [], "serving": []}
        brackets: list[float] = []
        log(f"{a.applies} applies, rotating over {[m.name for m in ms]}")
        for i in range(a.applies):
            w = ms[i % len(ms)]
            mk = self.marker("apply")
            t0 = now()
            poll = self.wait_all(t0, mk, ms, a.apply_timeout, clients)
            st, ver, dt, text = self.put(w, mk)
            if st != 200:
                failures.append({"i": i, "writer": w.name, "status": st, "answer": text})
                poll["stop"].set()
            self.join(poll)
            for k in poll_req:
                poll_req[k] += poll["req_s"][k]
            brackets += poll["brackets"]
            res = poll["res"]
            row = {"i": i, "writer": w.name, "status": st, "ack_s": dt, "version": ver}
            for m in ms:
                v = res.get((m.name, "visible"))
                s = res.get((m.name, "serving"))
                row[f"{m.name}_visible_s"] = v
                row[f"{m.name}_serving_s"] = s
                if v is not None:
                    (vis_local if m is w else vis_remote).append(v)
                if s is not None:
                    (srv_local if m is w else srv_remote).append(s)
                mv = poll["versions"].get(m.name)
                if st == 200 and ver and mv and mv != ver:
                    version_mismatch += 1
            if st == 200:
                ack.append(dt)
            vs = [res.get((m.name, "visible")) for m in ms]
            ss = [res.get((m.name, "serving")) for m in ms if m.gw_port]
            if vs and None not in vs:
                vis_all.append(max(vs))
            if ss and None not in ss:
                srv_all.append(max(ss))
            rows.append(row)
            time.sleep(a.apply_gap_ms / 1000)
        for c in clients.values():
            c.close()
        with open(self.out / "applies.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        timeouts = sum(1 for r in rows if r["status"] == 200 for m in ms
                       if r[f"{m.name}_visible_s"] is None
                       or (m.gw_port and r[f"{m.name}_serving_s"] is None))
        self.summary["applies"] = {
            "count": a.applies, "failed_puts": failures[:20], "failed_put_count": len(failures),
            "poll_timeouts": timeouts, "version_mismatches": version_mismatch,
            "put_ack": dist_ms(ack),
            "poll_request_admin": dist_ms(poll_req["visible"]),
            "poll_request_gateway": dist_ms(poll_req["serving"]),
            "uncertainty": dist_ms(brackets),
            "visible_all": dist_ms(vis_all), "serving_all": dist_ms(srv_all),
            "visible_on_writer": dist_ms(vis_local), "visible_on_others": dist_ms(vis_remote),
            "serving_on_writer": dist_ms(srv_local), "serving_on_others": dist_ms(srv_remote),
        }
        log(f"applies done: visible everywhere p50 {dist_ms(vis_all)['p50']} ms, "
            f"serving everywhere p50 {dist_ms(srv_all)['p50']} ms, {len(failures)} failed PUTs")

    def config_version(self, m: Member) -> int | None:
        try:
            _, h, _ = one_request(m.api_port, "GET", f"{API}/healthz", timeout=5)
            return int(h.get("X-Config-Version"))
        except (OSError, http.client.HTTPException, TypeError, ValueError):
            return None

    def probes(self, tag: str) -> dict:
        """In parallel on every member: one write (PUT), one read (GET the pipeline), one
        /healthz; status, seconds and the start of the answer of each."""
        res: dict = {}
        markers = {m.name: self.marker(tag) for m in self.members}

        def one(m: Member):
            mk = markers[m.name]
            st, ver, dt, text = self.put(m, mk, timeout=max(30.0, 5 * self.req_timeout_s))
            r = {"write": {"status": st, "s": round(dt, 3), "answer": text[:160],
                           "marker": mk}}
            for what, path in (("read", f"{API}/objects/{PIPELINE}"), ("healthz", f"{API}/healthz")):
                t = now()
                try:
                    s, _, body = one_request(m.api_port, "GET", path, timeout=10)
                    r[what] = {"status": s, "s": round(now() - t, 3),
                               "answer": body[:80].decode(errors="replace")}
                except (OSError, http.client.HTTPException) as e:
                    r[what] = {"status": None, "s": round(now() - t, 3), "answer": repr(e)}
            res[m.name] = r

        ths = [threading.Thread(target=one, args=(m,)) for m in self.members]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        return res

    @property
    def req_timeout_s(self) -> float:
        t = self.a.request_timeout
        return float(t[:-2]) / 1000 if t.endswith("ms") else float(t.rstrip("s"))

    def recover(self, t_from: float, writer: Member, tag: str) -> dict:
        """A new write on writer every RETRY_MS (without waiting for the earlier ones, which
        may hang for the request timeout) until one is accepted; then until every member
        shows, and serves, one of these writes. Seconds since t_from."""
        a = self.a
        lock = threading.Lock()
        done = threading.Event()
        attempts: list[dict] = []
        accepted: list[tuple] = []
        prefix = f"{tag}-"

        def attempt(mk: str, sent: float):
            st, ver, dt, text = self.put(writer, mk, timeout=max(30.0, 5 * self.req_timeout_s))
            with lock:
                attempts.append({"sent_s": round(sent - t_from, 3), "status": st,
                                 "s": round(dt, 3), "answer": text[:120]})
                if st == 200:
                    accepted.append((now() - t_from, mk, ver))
                    done.set()

        threads: list[threading.Thread] = []
        deadline = t_from + a.recovery_timeout
        while not done.is_set() and now() < deadline:
            if sum(th.is_alive() for th in threads) < 50:
                th = threading.Thread(target=attempt, args=(self.marker(tag), now()))
                th.start()
                threads.append(th)
            done.wait(a.retry_ms / 1000)
        r: dict = {}
        if accepted:
            first = min(accepted)
            r["write_ok_s"] = round(first[0], 3)
            w = self.join(self.wait_all(t_from, lambda mk: mk.startswith(prefix), self.members,
                                        max(1.0, deadline - now())))
            vis = [w["res"].get((m.name, "visible")) for m in self.members]
            srv = [w["res"].get((m.name, "serving")) for m in self.members if m.gw_port]
            r["visible_all_s"] = None if None in vis else round(max(vis), 3)
            r["serving_all_s"] = None if None in srv or not srv else round(max(srv), 3)
            r["per_member"] = {f"{k[0]}_{k[1]}": (None if v is None else round(v, 3))
                               for k, v in sorted(w["res"].items())}
        else:
            r["write_ok_s"] = None
        for th in threads:
            th.join()
        attempts.sort(key=lambda x: x["sent_s"])
        r["attempts"] = len(attempts)
        r["accepted"] = len(accepted)
        r["statuses"] = {str(st): sum(1 for x in attempts if x["status"] == st)
                         for st in {x["status"] for x in attempts}}
        r["first_answers"] = attempts[:3]
        return r

    def quorum(self, mode: str) -> dict:
        """mode 'pause': SIGSTOP the victims' etcd for LOSS_SECONDS, then SIGCONT.
        mode 'kill': SIGKILL them; their members restart them."""
        a = self.a
        ps = self.primaries
        lead = self.members[0]
        need = len(ps) // 2 + 1
        victims = [m for m in ps if m is not lead][: len(ps) - need + 1]
        pids = {}
        for m in victims:
            p = m.etcd_pid()
            if not p:
                return {"skipped": f"no live etcd pid for {m.name}"}
            pids[m.name] = p
        self.tr.note_etcd()
        v0 = self.config_version(lead)
        port = lead.gw_port
        r: dict = {"mode": mode, "first_member": lead.name,
                   "load_member": lead.name if port else None,
                   "victims": {m.name: pids[m.name] for m in victims},
                   "config_version_before": v0}
        log(f"quorum loss ({mode}): {'SIGSTOP' if mode == 'pause' else 'SIGKILL'} the etcd of "
            f"{[m.name for m in victims]}, load on {lead.name}'s gateway")
        ld = self.load(port, f"quorum-{mode}-loss") if port else None
        r["probes"] = {}
        leader: dict = {}
        leader_stop = threading.Event()
        ids = {o.name: self.etcd_member_id(o) for o in self.primaries}
        t_loss = now()
        sig = signal.SIGSTOP if mode == "pause" else signal.SIGKILL
        for m in victims:
            self.tr.signal(pids[m.name], sig, f"etcd of {m.name}")
        # the first member's etcd: when it sees no leader, when it has one again
        lw = threading.Thread(target=self.watch_leader, args=(lead, t_loss, leader, leader_stop))
        lw.start()
        if mode == "kill":
            restarted = {}

            def watch_restart(m: Member, old: int):
                dl = t_loss + a.recovery_timeout
                while now() < dl:
                    p = m.etcd_pid()
                    if p and p != old:
                        restarted[m.name] = {"new_pid": p, "pid_s": round(now() - t_loss, 3)}
                        self.tr.etcd[p] = m
                        break
                    time.sleep(0.01)
                while now() < dl and m.name in restarted:
                    try:
                        st, _, body = one_request(m.client_port, "GET", "/health", timeout=1)
                        if st == 200 and b"true" in body:
                            restarted[m.name]["healthy_s"] = round(now() - t_loss, 3)
                            return
                    except (OSError, http.client.HTTPException):
                        pass
                    time.sleep(0.02)

            watchers = [threading.Thread(target=watch_restart, args=(m, pids[m.name]))
                        for m in victims]
            for th in watchers:
                th.start()
        if mode == "pause":
            time.sleep(0.5)
            r["probes"] = self.probes(f"loss-{mode}")
            rest = a.loss_seconds - (now() - t_loss)
            if rest > 0:
                time.sleep(rest)
            r["loss_s"] = round(now() - t_loss, 3)
            if ld:
                r["load_during_loss"] = ld.stop()
                ld = self.load(port, f"quorum-{mode}-recovery")
            t_restore = now()
            for m in victims:
                self.tr.signal(pids[m.name], signal.SIGCONT, f"etcd of {m.name}")
            snap = threading.Timer(1.0, lambda: r.__setitem__(
                "lock_keys_1s_after_restore", self.lock_keys(lead)))
            snap.start()
            r["recovery"] = self.recover(t_restore, lead, f"recover-{mode}")
            snap.join()
            r["restore_at_s"] = round(t_restore - t_loss, 3)
            if ld:
                r["load_during_recovery"] = ld.stop()
        else:
            # The kill is the restore: the members restart their etcd with back-off. The
            # probes run beside the recovery writes, so they do not delay them.
            def probe_later():
                time.sleep(0.5)
                r["probes"] = self.probes(f"loss-{mode}")

            prober = threading.Thread(target=probe_later)
            prober.start()
            r["recovery"] = self.recover(t_loss, lead, f"recover-{mode}")
            prober.join()
            for th in watchers:
                th.join()
            r["etcd_restart"] = restarted
            if ld:
                r["load_during_loss_and_recovery"] = ld.stop()
            self.tr.note_etcd()
        leader_stop.set()
        lw.join()
        if "leader" in leader:
            leader["leader"] = next((n for n, i in ids.items() if i == leader["leader"]),
                                    leader["leader"])
        r["etcd_leader"] = leader
        r["lock_keys_after_recovery"] = self.lock_keys(lead)
        v1 = self.config_version(lead)
        r["config_version_after"] = v1
        if v0 is not None and v1 is not None:
            # one version step per accepted write: probes that answered 200 plus the one
            # recovery write; more means a write that was refused still took effect
            accepted = sum(1 for p in r["probes"].values() if p["write"]["status"] == 200)
            accepted += r["recovery"]["accepted"]
            r["writes_accepted"] = accepted
            r["unexplained_version_steps"] = v1 - v0 - accepted
        lost = [m.name for m in self.members if not m.alive()]
        if lost:
            r["members_exited"] = lost
        log(f"quorum loss ({mode}): recovery {r['recovery'].get('visible_all_s')} s to visible "
            f"everywhere")
        return r

    def watch_leader(self, m: Member, t0: float, out: dict, stop: threading.Event) -> None:
        """Polls m's etcd status: when it first has no leader (lost_s) and when it has one
        again after that (back_s), seconds since t0."""
        c = Client(m.client_port, 1.0)
        deadline = t0 + self.a.recovery_timeout
        try:
            while now() < deadline and not stop.is_set():
                try:
                    st, _, body = c.request("POST", "/v3/maintenance/status", b"{}", JSON)
                    leader = json.loads(body).get("leader", "0") if st == 200 else None
                except (OSError, http.client.HTTPException, ValueError):
                    leader = None
                if leader is not None:
                    if leader in ("0", 0) and "lost_s" not in out:
                        out["lost_s"] = round(now() - t0, 3)
                    elif leader not in ("0", 0) and "lost_s" in out:
                        out["back_s"] = round(now() - t0, 3)
                        out["leader"] = str(leader)
                        return
                time.sleep(0.02)
        finally:
            c.close()

    def etcd_member_id(self, m: Member) -> str | None:
        try:
            _, _, body = one_request(m.client_port, "POST", "/v3/maintenance/status", b"{}",
                                     JSON, timeout=1)
            return json.loads(body)["header"]["member_id"]
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            return None

    def etcd_connections(self, m: Member) -> dict:
        """How many connections m's process has open to each primary's etcd client URL."""
        by_port = {o.client_port: o.name for o in self.primaries}
        out: dict = {}
        for port in connections(m.pid):
            if port in by_port:
                out[by_port[port]] = out.get(by_port[port], 0) + 1
        return out

    def resync(self) -> dict:
        a = self.a
        part = self.primaries[-1]
        writer = self.members[0]
        pid = part.etcd_pid()
        if not pid:
            return {"skipped": f"no live etcd pid for {part.name}"}
        r: dict = {"partitioned": part.name, "writer": writer.name, "changes": a.resync_changes,
                   "member_connections_to_etcd": self.etcd_connections(part)}
        log(f"partition: SIGSTOP etcd of {part.name}, {a.resync_changes} applies on "
            f"{writer.name}")
        tl = Timeline(part, a.poll_ms).start()
        t_part = now()
        self.tr.signal(pid, signal.SIGSTOP, f"etcd of {part.name}")
        retries = 0
        statuses = set()
        mk = None
        acks: dict[str, float] = {}
        for _ in range(a.resync_changes):
            while True:
                mk = self.marker("resync")
                st, _, _, text = self.put(writer, mk, timeout=max(30.0, 5 * self.req_timeout_s))
                statuses.add(str(st))
                if st == 200:
                    acks[mk] = now()
                    break
                retries += 1
                if now() - t_part > a.recovery_timeout:
                    self.tr.signal(pid, signal.SIGCONT, f"etcd of {part.name}")
                    tl.stop()
                    r["error"] = f"writes on {writer.name} kept failing: {st} {text[:200]}"
                    return r
                time.sleep(0.05)
        r["applies_s"] = round(now() - t_part, 3)
        r["retries"] = retries
        r["statuses"] = sorted(statuses)
        rest = a.partition_seconds - (now() - t_part)
        if rest > 0:
            time.sleep(rest)
        # A member whose etcd stays silent long enough re-opens its watch on another
        # member's etcd; then it follows the changes before its own etcd is back.
        r["partition_s"] = round(now() - t_part, 3)
        etcd_res: dict = {}
        t_cont = now()
        seen = {k: tl.first[k] - t for k, t in acks.items() if tl.first.get(k, t_cont) < t_cont}
        r["followed_during_partition"] = len(seen)
        r["lag_during_partition"] = dist_ms(list(seen.values()))
        r["partitioned_showed_last_before_resume"] = mk in seen
        self.tr.signal(pid, signal.SIGCONT, f"etcd of {part.name}")
        th = threading.Thread(target=self.poll_etcd, args=(part, mk, t_cont, etcd_res))
        th.start()
        w = self.join(self.wait_all(t_cont, mk, [part], a.recovery_timeout))
        th.join()
        tl.stop()
        v = w["res"].get((part.name, "visible"))
        s = w["res"].get((part.name, "serving"))
        r["visible_s"] = None if v is None else round(v, 3)
        r["serving_s"] = None if s is None else round(s, 3)
        r["etcd_has_it_s"] = etcd_res.get("s")
        log(f"partition: {part.name} showed the last change {r['visible_s']} s after SIGCONT "
            f"(its etcd had it after {r['etcd_has_it_s']} s)")
        return r

    def etcd_range(self, m: Member, prefix: str) -> list[dict]:
        """Keys under prefix in m's etcd (a serializable range: its local copy)."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        req = json.dumps({"key": base64.b64encode(prefix.encode()).decode(),
                          "range_end": base64.b64encode(end.encode()).decode(),
                          "serializable": True}).encode()
        st, _, body = one_request(m.client_port, "POST", "/v3/kv/range", req, JSON, timeout=3)
        if st != 200:
            raise OSError(f"range {prefix}: {st} {body[:200]!r}")
        return [{"key": base64.b64decode(kv["key"]).decode(errors="replace"),
                 "value": base64.b64decode(kv.get("value", "")).decode(errors="replace"),
                 "lease": kv.get("lease"), "create_revision": kv.get("create_revision")}
                for kv in json.loads(body).get("kvs") or []]

    def lock_keys(self, m: Member) -> list | str:
        """The /config/lock/ keys (lock requests: granted or waiting) in m's etcd, each with
        the member whose lease holds it: a key of a request nobody waits for any more blocks
        every later write."""
        try:
            owners = {}
            for kv in self.etcd_range(m, "/leases/"):
                try:
                    owners[int(kv["value"], 16)] = kv["key"].rsplit("/", 1)[-1]
                except ValueError:
                    pass
            return [{"key": kv["key"], "create_revision": kv["create_revision"],
                     "member": owners.get(int(kv["lease"] or 0))}
                    for kv in self.etcd_range(m, "/config/lock/")]
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            return repr(e)

    def poll_etcd(self, m: Member, marker: str, t0: float, out: dict) -> None:
        """Until the member's own etcd has the marker in its local copy (a serializable
        range on its client URL, answered without the leader): seconds since t0."""
        key = base64.b64encode(f"/config/objects/{PIPELINE}".encode()).decode()
        req = json.dumps({"key": key, "serializable": True}).encode()
        c = Client(m.client_port, 2.0)
        deadline = t0 + self.a.recovery_timeout
        try:
            while now() < deadline:
                try:
                    st, _, body = c.request("POST", "/v3/kv/range", req, JSON)
                    if st == 200:
                        kvs = json.loads(body).get("kvs") or []
                        if kvs and spec_marker(base64.b64decode(kvs[0].get("value", ""))) == marker:
                            out["s"] = round(now() - t0, 3)
                            return
                except (OSError, http.client.HTTPException, ValueError):
                    pass
                time.sleep(self.a.poll_ms / 1000)
        finally:
            c.close()

    def standalone_memory(self) -> dict:
        solo = Member("standalone", "standalone", self.out, self.server)
        self.tr.members.append(solo)
        solo.start(solo.command("", "", self.a.request_timeout, None))
        deadline = now() + 60
        while now() < deadline:
            try:
                if one_request(solo.api_port, "GET", f"{API}/healthz", timeout=1)[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if not solo.alive():
                raise RuntimeError(f"standalone member exited\n{solo.tail()}")
            time.sleep(0.05)
        mk = "standalone"
        st, _, _, text = self.post(solo, pipeline_spec(mk))
        ports = []
        for m in self.members:
            p = free_port()
            ports.append(p)
            self.post(solo, server_spec(f"bench-gw-{m.name}", p))
        for p in ports:
            deadline = now() + 30
            while now() < deadline:
                try:
                    if one_request(p, "GET", GW_PATH, timeout=1)[2] == mk.encode():
                        break
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(0.02)
        self.warm_up(ports)
        time.sleep(1)
        r = {"member_kb": mem_kb(solo.pid), "objects": 1 + len(ports),
             "etcd_pid_file": (solo.home / "data" / "etcd.pid").exists()}
        self.tr.stop_members([solo])
        return r

    # ---- run

    def run(self) -> None:
        a = self.a
        c = self.summary["config"]
        c.update({
            "server": str(self.server),
            "build": "debug" if "/debug/" in str(self.server) else "release or bin",
            "server_version": self.cmd_out([str(self.server), "--version"]),
            "etcd": self.cmd_out([a.etcd_bin or "etcd", "--version"]).splitlines()[:1],
            "members": a.members, "secondaries": a.secondaries, "applies": a.applies,
            "request_timeout": a.request_timeout, "poll_ms": a.poll_ms, "retry_ms": a.retry_ms,
            "recovery_timeout": a.recovery_timeout,
            "load": self.load_cls.__name__, "conns": a.conns, "load_delay_ms": a.load_delay_ms,
            "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()[0],
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        skip = set(filter(None, a.skip.split(",")))
        self.formation()
        self.setup_objects()
        gws = [m.gw_port for m in self.members if m.gw_port]
        self.warm_up(gws)
        time.sleep(1)
        self.summary["memory"] = {"cluster_after_setup": self.memory_snapshot(self.members)}
        if "applies" not in skip:
            self.applies()
        if len(self.primaries) >= 3:
            # the partition first: later, after the quorum runs, members may already be
            # connected to other members' etcd
            if "resync" not in skip:
                self.summary["resync"] = self.resync()
            if "quorum" not in skip:
                self.summary["quorum_pause"] = self.quorum("pause")
                self.summary["quorum_kill"] = self.quorum("kill")
        else:
            self.summary["notes"].append("fewer than 3 primaries: no quorum or partition run")
        self.summary["memory"]["cluster_end"] = self.memory_snapshot(self.members)
        log("stopping the cluster")
        self.summary["shutdown"] = self.tr.stop_members(self.members)
        if "memory" not in skip:
            log("standalone member with the same objects")
            self.summary["memory"]["standalone"] = self.standalone_memory()
        c["loadavg_end"] = os.getloadavg()[0]

    @staticmethod
    def cmd_out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError) as e:
            return repr(e)


# --------------------------------------------------------------------------- report

def fmt(v, unit="") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}{unit}" if abs(v) >= 10 else f"{v:.2f}{unit}"
    return f"{v}{unit}"


def report(s: dict) -> str:
    L = []
    c = s.get("config", {})
    def count(n, one, many):
        return f"{n} {one if n == 1 else many}"
    sec = c.get("secondaries") or 0
    L.append(f"easegress-rs cluster bench: {count(c.get('members'), 'primary', 'primaries')}"
             f"{' + ' + count(sec, 'secondary', 'secondaries') if sec else ''}"
             f", {c.get('server')} ({c.get('build')}), load: {c.get('load')}")
    if c.get("build") == "debug":
        L.append("DEBUG BUILD: the numbers only show that the script works")
    f = s.get("formation")
    if f:
        L.append("")
        L.append(f"formation: /healthz 200 everywhere after {fmt(f['healthz_all_s'], ' s')}, "
                 f"all members listed everywhere after {fmt(f['members_listed_all_s'], ' s')}")
    ap = s.get("applies")
    if ap:
        L.append("")
        L.append(f"{ap['count']} applies (ms from sending the PUT)      n     p50     p99     max")
        for key, label in (("put_ack", "PUT answered (writer)"),
                           ("visible_on_writer", "admin API shows it: writer"),
                           ("visible_on_others", "admin API shows it: other members"),
                           ("visible_all", "admin API shows it: all members"),
                           ("serving_on_writer", "gateway serves it: writer"),
                           ("serving_on_others", "gateway serves it: other members"),
                           ("serving_all", "gateway serves it: all members")):
            d = ap[key]
            L.append(f"  {label:<42}{d['n']:>5}{fmt(d['p50']):>8}{fmt(d['p99']):>8}"
                     f"{fmt(d['max']):>8}")
        u = ap["uncertainty"]
        L.append(f"  resolution: one admin GET p50 {fmt(ap['poll_request_admin']['p50'])} ms, one "
                 f"gateway GET p50 {fmt(ap['poll_request_gateway']['p50'])} ms, "
                 f"{c.get('poll_ms')} ms between polls; each time is at most "
                 f"{fmt(u['p50'])} ms (p50), {fmt(u['max'])} ms (max) late")
        L.append(f"  failed PUTs {ap['failed_put_count']}, poll timeouts {ap['poll_timeouts']}, "
                 f"version header mismatches {ap['version_mismatches']}")
    r = s.get("resync")
    if r:
        L.append("")
        if "skipped" in r or "error" in r:
            L.append(f"re-sync: {r.get('skipped') or r.get('error')}")
        else:
            L.append(f"re-sync: etcd of {r['partitioned']} stopped {r['partition_s']} s; "
                     f"{r['changes']} applies on {r['writer']} took {r['applies_s']} s "
                     f"({r['retries']} retries)")
            lag = r["lag_during_partition"]
            L.append(f"  {r['partitioned']}'s connections to etcd at the start: "
                     + (", ".join(f"{n} to {k}'s" for k, n in
                                  sorted(r["member_connections_to_etcd"].items())) or "none"))
            L.append(f"  while its etcd was stopped, {r['partitioned']}'s admin API showed "
                     f"{r['followed_during_partition']} of them (ms after the PUT answered: "
                     f"p50 {fmt(lag['p50'])}, max {fmt(lag['max'])})")
            L.append(f"  after SIGCONT: its etcd had the last one after "
                     f"{fmt(r['etcd_has_it_s'], ' s')}, its admin API showed it after "
                     f"{fmt(r['visible_s'], ' s')}, its gateway served it after "
                     f"{fmt(r['serving_s'], ' s')}")
    for key in ("quorum_pause", "quorum_kill"):
        q = s.get(key)
        if not q:
            continue
        L.append("")
        if "skipped" in q:
            L.append(f"{key}: skipped ({q['skipped']})")
            continue
        how = "SIGSTOP" if q["mode"] == "pause" else "SIGKILL"
        L.append(f"quorum loss, {how} etcd of {', '.join(q['victims'])}"
                 + (f" for {q['loss_s']} s" if "loss_s" in q else ""))
        for n, p in q["probes"].items():
            L.append(f"  during loss on {n}: write {p['write']['status']} in "
                     f"{p['write']['s']} s, read {p['read']['status']}, "
                     f"healthz {p['healthz']['status']}")
        for lk, label in (("load_during_loss", "gateway load during loss"),
                          ("load_during_recovery", "gateway load during recovery"),
                          ("load_during_loss_and_recovery", "gateway load, loss + recovery")):
            ld = q.get(lk)
            if ld:
                L.append(f"  {label}: {ld['requests']} requests, {ld['failed']} failed "
                         f"(non-2xx {ld['non2xx']}, socket {sum(ld['socket_errors'].values())}),"
                         f" max latency {fmt(ld['latency_ms'].get('max'), ' ms')}")
        rc = q["recovery"]
        frm = "SIGCONT" if q["mode"] == "pause" else "the kill"
        el = q.get("etcd_leader") or {}
        since = q.get("restore_at_s", 0)
        if "lost_s" in el:
            back = el.get("back_s")
            L.append(f"  {q['first_member']}'s etcd saw no leader {el['lost_s']} s after the "
                     f"{'SIGSTOP' if q['mode'] == 'pause' else 'kill'}, a leader again "
                     + (f"{back - since:.2f} s after {frm} ({el.get('leader')})"
                        if back is not None else "never (within the recovery timeout)"))
        elif el is not None and "etcd_leader" in q:
            L.append(f"  {q['first_member']}'s etcd never reported that it had no leader")
        answers = ", ".join(f"{n} x {'no answer in 30 s' if st == 'None' else st}"
                            for st, n in sorted(rc["statuses"].items()))
        if rc.get("write_ok_s") is None:
            L.append(f"  after {frm}: NO write accepted within {c.get('recovery_timeout')} s "
                     f"(writes sent every {c.get('retry_ms')} ms: {answers})")
        else:
            L.append(f"  after {frm}: first write accepted {fmt(rc.get('write_ok_s'), ' s')} "
                     f"(writes sent every {c.get('retry_ms')} ms: {answers}), visible "
                     f"everywhere {fmt(rc.get('visible_all_s'), ' s')}, served everywhere "
                     f"{fmt(rc.get('serving_all_s'), ' s')}")
        if q.get("etcd_restart"):
            L.append("  etcd restarted by its member: " + ", ".join(
                f"{n} new pid after {v.get('pid_s')} s, healthy after {v.get('healthy_s')} s"
                for n, v in q["etcd_restart"].items()))
        lk = q.get("lock_keys_after_recovery")
        if isinstance(lk, list) and lk:
            L.append("  left in /config/lock after the recovery (blocks every other member's "
                     "writes): " + ", ".join(f"{k['key']} ({k['member']}'s lease, created at "
                                             f"revision {k['create_revision']})" for k in lk))
        elif lk and not isinstance(lk, list):
            L.append(f"  /config/lock could not be read: {lk}")
        if q.get("unexplained_version_steps"):
            L.append(f"  config version moved {q['unexplained_version_steps']} step(s) more than "
                     "the accepted writes: a refused write took effect")
    m = s.get("memory")
    if m:
        L.append("")
        L.append("memory (VmRSS MB)            member   etcd child")

        def mb(kb):
            return None if kb is None else round(kb / 1024, 1)
        for snap, label in (("cluster_after_setup", "after setup"), ("cluster_end", "at the end")):
            for n, e in (m.get(snap) or {}).items():
                L.append(f"  {n + ' ' + label:<26}{fmt(mb(e['member_kb'].get('VmRSS'))):>8}"
                         f"{fmt(mb((e.get('etcd_kb') or {}).get('VmRSS'))):>13}")
        sa = m.get("standalone")
        if sa:
            L.append(f"  {'standalone (no cluster)':<26}{fmt(mb(sa['member_kb'].get('VmRSS'))):>8}"
                     f"{'-':>13}")
    sh = s.get("shutdown")
    if sh and (sh["members_sigkilled"] or sh["etcd_left_running"]):
        L.append("")
        L.append(f"shutdown: members needing SIGKILL {sh['members_sigkilled']}, etcd children "
                 f"left running after their member stopped {sh['etcd_left_running']}")
    for n in s.get("notes", []):
        L.append(f"note: {n}")
    return "\n".join(L) + "\n"


def main() -> int:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--eg-bin", default=env("EG_BIN", None),
                   help="directory with easegress-server (EG_BIN; default bin/, then "
                        "target/release, then target/debug)")
    p.add_argument("--out", default=env("OUT", str(ROOT / "bench/out" / f"cluster-{stamp}")),
                   help="result directory (OUT)")
    p.add_argument("--members", type=int, default=env("MEMBERS", 3), help="primaries (MEMBERS)")
    p.add_argument("--secondaries", type=int, default=env("SECONDARIES", 0),
                   help="secondary members (SECONDARIES)")
    p.add_argument("--applies", type=int, default=env("APPLIES", 100), help="(APPLIES)")
    p.add_argument("--etcd-bin", default=env("ETCD_BIN", None),
                   help="passed as --etcd-binary (ETCD_BIN; default: etcd on PATH)")
    p.add_argument("--request-timeout", default=env("REQUEST_TIMEOUT", "2s"),
                   help="--cluster-request-timeout of the members (REQUEST_TIMEOUT)")
    p.add_argument("--load", default=env("LOAD", "auto"), choices=["auto", "wrk", "python"],
                   help="load generator (LOAD)")
    p.add_argument("--conns", type=int, default=env("CONNS", 10), help="load connections (CONNS)")
    p.add_argument("--load-delay-ms", type=float, default=env("LOAD_DELAY_MS", 1.0),
                   help="pause between two requests of one connection (LOAD_DELAY_MS)")
    p.add_argument("--loss-seconds", type=float, default=env("LOSS_SECONDS", 10.0),
                   help="how long quorum stays lost in the SIGSTOP run (LOSS_SECONDS)")
    p.add_argument("--resync-changes", type=int, default=env("RESYNC_CHANGES", 20),
                   help="applies made while one etcd is stopped (RESYNC_CHANGES)")
    p.add_argument("--partition-seconds", type=float, default=env("PARTITION_SECONDS", 5.0),
                   help="shortest time that etcd stays stopped (PARTITION_SECONDS)")
    p.add_argument("--poll-ms", type=float, default=env("POLL_MS", 2.0),
                   help="interval between two polls of one member (POLL_MS)")
    p.add_argument("--retry-ms", type=float, default=env("RETRY_MS", 100.0),
                   help="during recovery, a new write every RETRY_MS until one is accepted "
                        "(RETRY_MS)")
    p.add_argument("--apply-gap-ms", type=float, default=env("APPLY_GAP_MS", 50.0),
                   help="pause between two measured applies (APPLY_GAP_MS)")
    p.add_argument("--apply-timeout", type=float, default=env("APPLY_TIMEOUT", 20.0),
                   help="longest wait for one apply to show everywhere (APPLY_TIMEOUT)")
    p.add_argument("--recovery-timeout", type=float, default=env("RECOVERY_TIMEOUT", 120.0),
                   help="(RECOVERY_TIMEOUT)")
    p.add_argument("--formation-timeout", type=float, default=env("FORMATION_TIMEOUT", 120.0),
                   help="(FORMATION_TIMEOUT)")
    p.add_argument("--skip", default=env("SKIP", ""),
                   help="comma-separated phases to skip: applies,quorum,resync,memory (SKIP)")
    p.add_argument("--keep-data", action="store_true", default=env("KEEP_DATA", "0") == "1",
                   help="keep the members' data dirs (etcd preallocates 64 MB WAL files) "
                        "(KEEP_DATA=1)")
    a = p.parse_args()
    if a.members < 1:
        p.error("MEMBERS must be at least 1")

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    b = Bench(a)
    log(f"results in {b.out}")
    rc = 0
    try:
        b.run()
    except (Exception, KeyboardInterrupt, SystemExit) as e:
        rc = 1
        b.summary["error"] = f"{type(e).__name__}: {e}"
        log(f"ERROR: {b.summary['error']}")
    finally:
        b.tr.cleanup()
        if not a.keep_data:
            for m in b.tr.members:
                shutil.rmtree(m.home / "data", ignore_errors=True)
    (b.out / "summary.json").write_text(json.dumps(b.summary, indent=2) + "\n")
    text = report(b.summary)
    (b.out / "summary.txt").write_text(text)
    print(text, end="")
    if "error" in b.summary:
        print(f"ERROR: {b.summary['error'][:2000]}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
