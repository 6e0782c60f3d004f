#!/usr/bin/env python3
"""Hostile-client probes of the data plane, against a running build of easegress-server.

  python3 bench/edge-probes.py                 # uses bin/easegress-server and bin/egctl
  IDLE=10000 SLOW=1000 python3 bench/edge-probes.py
  TLS=1 IDLE=10000 python3 bench/edge-probes.py  # the same over HTTPS (TLS 1.3, HTTP/1.1)

Starts the server on loopback with an HTTPServer whose pipeline answers by itself (Mock),
then measures, one probe after the other:

  idle      IDLE keep-alive connections that sent one request and then stay quiet:
            the server's RSS with them open (1 s after opening, and SETTLE_S, default 5,
            seconds later) and after they close (1 s, and SETTLE_S later), and the latency
            of another client meanwhile. Keep KEEPALIVE above 2 + SETTLE_S seconds.
  silent    IDLE connections that never send a byte: how long until the server has closed
            them all (keepAliveTimeout of the probe server: KEEPALIVE, default 5s).
  slowloris SLOW connections sending one header byte per second: how long until the
            server cut them all off, and the latency of another client meanwhile.

With TLS=1 the HTTPServer serves HTTPS (a self-signed ECDSA P-256 certificate made with
openssl) and every probe's connections complete a TLS 1.3 handshake, offering HTTP/1.1 by
ALPN, before they do what the probe says (a silent connection is one that never sends a
request).

With TARGET=nginx the idle probe alone runs against NGINX (one worker, no master process,
`return 200 "ok"`, keepalive_timeout KEEPALIVE, HTTPS with the same kind of certificate
when TLS=1), with the same client, for the same per-connection figure:

  TARGET=nginx TLS=1 IDLE=5000 python3 bench/edge-probes.py

Prints one `RESULT` line per probe. Only loopback addresses are used; every loop is bounded.
"""

import asyncio
import base64
import json
import os
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BIN", os.path.join(ROOT, "bin"))
IDLE = int(os.environ.get("IDLE", "10000"))
SLOW = int(os.environ.get("SLOW", "1000"))
KEEPALIVE = os.environ.get("KEEPALIVE", "5s")
# Seconds waited before the "settled" RSS readings (idle, and after closing).
SETTLE_S = float(os.environ.get("SETTLE_S", "5"))
TLS = os.environ.get("TLS", "0") == "1"
TARGET = os.environ.get("TARGET", "easegress")


def client_tls():
    """The probes' TLS client settings: the test certificate is not verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# Every probe connection's TLS settings (None: plain TCP).
CLIENT_TLS = client_tls() if TLS else None


def test_cert_files(work):
    """A self-signed ECDSA P-256 certificate and its key, as PEM files: their paths."""
    key, cert = f"{work}/key.pem", f"{work}/cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def test_cert(work):
    """A self-signed ECDSA P-256 certificate and its key, each as base64 of its PEM."""
    return tuple(base64.b64encode(open(f, "rb").read()).decode()
                 for f in test_cert_files(work))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def latency_probe(port, n=300):
    """Sequential keep-alive GETs from one client: p50/p99 in ms, and failures."""
    import http.client

    times, failed = [], 0
    def connect():
        if TLS:
            return http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                               context=CLIENT_TLS)
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    conn = connect()
    for _ in range(n):
        t = time.perf_counter()
        try:
            conn.request("GET", "/probe")
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failed += 1
        except Exception:
            failed += 1
            conn.close()
            conn = connect()
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], failed


async def open_idle(port, n, send_request):
    conns = []
    req = b"GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sem = asyncio.Semaphore(500)

    async def one():
        async with sem:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=CLIENT_TLS)
            if send_request:
                w.write(req)
                await w.drain()
                # Read the whole small answer (headers + body).
                await r.readuntil(b"ok")
            conns.append((r, w))

    await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    return conns


async def wait_closed(conns, limit):
    """Seconds until the server closed every connection (at most `limit`), and how many
    it closed."""
    start = time.monotonic()
    closed = 0

    async def one(r):
        nonlocal closed
        try:
            while await asyncio.wait_for(r.read(1024), limit):
                pass
            closed += 1
        except asyncio.TimeoutError:
            pass
        except Exception:
            closed += 1

    await asyncio.wait_for(asyncio.gather(*(one(r) for r, _ in conns)), limit + 5)
    return time.monotonic() - start, closed


async def slowloris(port, n, limit):
    start = time.monotonic()
    closed_at = []

    async def one(i):
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=CLIENT_TLS)
        except OSError:
            return
        head = b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
        try:
            for b in head:
                w.write(bytes([b]))
                await w.drain()
                try:
                    if await asyncio.wait_for(r.read(1024), 1.0) == b"":
                        break
                except asyncio.TimeoutError:
                    pass
                if time.monotonic() - start > limit:
                    return
        except OSError:
            pass
        closed_at.append(time.monotonic() - start)
        w.close()

    await asyncio.gather(*(one(i) for i in range(n)))
    return closed_at


def idle_probe(loop, port, pid):
    """The idle probe against the server `pid` listening on `port`; prints its results."""
    base_p50, base_p99, _ = latency_probe(port)
    base_rss = rss_mb(pid)
    print(f"baseline target={TARGET} tls={TLS} rss_mb={base_rss:.1f} p50_ms={base_p50:.3f} "
          f"p99_ms={base_p99:.3f}")

    # Idle keep-alive connections (KEEPALIVE is long enough to measure them open).
    t = time.monotonic()
    conns = loop.run_until_complete(open_idle(port, IDLE, True))
    opened = len(conns)
    open_s = time.monotonic() - t
    # Idle connections leave hyper at the server's next idle sweep (500 ms).
    loop.run_until_complete(asyncio.sleep(1))
    rss_open = rss_mb(pid)
    p50, p99, failed = latency_probe(port)
    # Memory freed after the burst of opening goes back to the OS within seconds.
    loop.run_until_complete(asyncio.sleep(SETTLE_S))
    rss_settled = rss_mb(pid)
    for _, w in conns:
        w.close()
    loop.run_until_complete(asyncio.sleep(1))
    rss_after = rss_mb(pid)
    loop.run_until_complete(asyncio.sleep(SETTLE_S))
    rss_after_settled = rss_mb(pid)
    print(f"RESULT idle connections={opened} open_s={open_s:.1f} rss_mb={rss_open:.1f} "
          f"per_conn_kb={(rss_open - base_rss) * 1024 / max(opened, 1):.1f} "
          f"rss_settled_mb={rss_settled:.1f} "
          f"settled_per_conn_kb={(rss_settled - base_rss) * 1024 / max(opened, 1):.1f} "
          f"rss_after_close_mb={rss_after:.1f} rss_after_close_settled_mb={rss_after_settled:.1f} "
          f"other_p50_ms={p50:.3f} other_p99_ms={p99:.3f} other_failed={failed}")


def stop(proc):
    """Ends `proc`: SIGTERM, then SIGKILL if it is still running 10 s later."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_answering(port, what, proc):
    """Polls `port` until it answers GET /ready (at most 10 s); fails if `proc` exits."""
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit(f"edge-probes: {what} exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(f"{'https' if TLS else 'http'}://127.0.0.1:{port}/ready",
                                   timeout=1, context=CLIENT_TLS)
            return
        except Exception:
            time.sleep(0.1)
    sys.exit(f"edge-probes: {what} did not answer on port {port}")


def main_nginx(work):
    """The idle probe against NGINX, configured as the probe server is."""
    port = free_port()
    listen = f"127.0.0.1:{port}"
    tls = ""
    if TLS:
        cert, key = test_cert_files(work)
        listen += " ssl"
        tls = (f"ssl_certificate {cert}; ssl_certificate_key {key}; "
               "ssl_protocols TLSv1.3;")
    conf = f"{work}/nginx.conf"
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process off; worker_processes 1;
error_log {work}/error.log; pid {work}/nginx.pid;
worker_rlimit_nofile {IDLE * 2 + 100};
events {{ worker_connections {IDLE * 2 + 100}; }}
http {{
  access_log off;
  keepalive_timeout {KEEPALIVE}; keepalive_requests 100000;
  server {{
    listen {listen}; {tls}
    location / {{ return 200 "ok"; }}
  }}
}}
""")
    srv = subprocess.Popen(["nginx", "-c", conf, "-p", work],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_answering(port, "nginx", srv)
        loop = asyncio.new_event_loop()
        idle_probe(loop, port, srv.pid)
        loop.close()
    finally:
        stop(srv)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="eg-edge-")
    if TARGET == "nginx":
        try:
            main_nginx(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    if TARGET != "easegress":
        sys.exit(f"edge-probes: TARGET is easegress or nginx, not {TARGET!r}")
    api, gw = free_port(), free_port()
    srv = subprocess.Popen(
        [f"{BIN}/easegress-server", "--name", "edge", "--api-addr", f"127.0.0.1:{api}",
         "--home-dir", work, "--data-dir", f"{work}/data", "--log-dir", f"{work}/log",
         "--disable-access"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{api}/apis/v2/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        specs = [
            {"name": "edge-pipeline", "kind": "Pipeline", "filters": [
                {"name": "mock", "kind": "Mock", "rules": [
                    {"match": {"pathPrefix": "/"}, "code": 200, "body": "ok"}]}]},
            {"name": "edge-server", "kind": "HTTPServer", "port": gw, "address": "127.0.0.1",
             "keepAliveTimeout": KEEPALIVE, "maxConnections": IDLE * 2 + SLOW + 100,
             "rules": [{"paths": [{"pathPrefix": "/", "backend": "edge-pipeline"}]}]},
        ]
        if TLS:
            cert, key = test_cert(work)
            specs[1].update({"https": True, "certBase64": cert, "keyBase64": key})
        for s in specs:
            req = urllib.request.Request(f"http://127.0.0.1:{api}/apis/v2/objects",
                                         data=json.dumps(s).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10)
        wait_answering(gw, "easegress-server", srv)

        loop = asyncio.new_event_loop()
        idle_probe(loop, gw, srv.pid)

        # Silent connections: closed by the header timer, counted from accept.
        conns = loop.run_until_complete(open_idle(gw, IDLE, False))
        fds_open = open_fds(srv.pid)
        p50, p99, failed = latency_probe(gw)
        took, closed = loop.run_until_complete(wait_closed(conns, 120))
        for _, w in conns:
            w.close()
        print(f"RESULT silent connections={len(conns)} server_fds_while_open={fds_open} "
              f"closed_by_server={closed} within_s={took:.1f} keepAliveTimeout={KEEPALIVE} "
              f"other_p50_ms={p50:.3f} other_p99_ms={p99:.3f} other_failed={failed}")

        # Slowloris: one header byte a second.
        task = loop.create_task(slowloris(gw, SLOW, 120))
        loop.run_until_complete(asyncio.sleep(2))
        p50, p99, failed = latency_probe(gw)
        closed = loop.run_until_complete(task)
        closed.sort()
        last = closed[-1] if closed else float("nan")
        print(f"RESULT slowloris connections={SLOW} cut_off={len(closed)} "
              f"last_cut_off_s={last:.1f} keepAliveTimeout={KEEPALIVE} "
              f"other_p50_ms={p50:.3f} other_p99_ms={p99:.3f} other_failed={failed} "
              f"rss_mb={rss_mb(srv.pid):.1f}")
        loop.close()
    finally:
        stop(srv)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
