#!/usr/bin/env python3
"""A small threaded HTTP/1.1 front for the mock Hub, as a plain Python server would serve it.

    http1_front.py --backend http://127.0.0.1:P [--rewrite FROM=TO]... [--latency-ms 50]
                   [--port-file FILE] [--stats-file FILE]

Python's standard library ThreadingHTTPServer, untuned: the default listen backlog (5), one
thread per connection, keep-alive. Every request sleeps --latency-ms, is forwarded to the backend
over a kept-alive connection and answered with the backend's status, headers and body; a
Location header starting with FROM is rewritten to start with TO (so the Hub's redirects to the
CDN point at the CDN's own front). Prints nothing; writes "http://HOST:PORT" to --port-file once
it listens, and at SIGTERM {"opened", "peak", "requests"} to --stats-file.

Standard library only. Used by bench/profiles_bench.py (profile "python").
"""
from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0
        self.opened = 0
        self.requests = 0


def make_handler(backend: urllib.parse.SplitResult, rewrites: list[tuple[str, str]],
                 latency_s: float, stats: Stats):
    local = threading.local()

    def backend_connection(fresh: bool = False) -> http.client.HTTPConnection:
        if fresh or getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(backend.hostname, backend.port, timeout=60)
        return local.conn

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Status line, headers and body leave in one write (flushed after each request): with
        # the default unbuffered writer, headers and body are two sends and Nagle's algorithm
        # against the client's delayed ACK adds ~40 ms to every response, which would measure
        # this front rather than the client.
        wbufsize = 1 << 20

        def setup(self):
            super().setup()
            with stats.lock:
                stats.open += 1
                stats.opened += 1
                stats.peak = max(stats.peak, stats.open)

        def finish(self):
            try:
                super().finish()
            finally:
                with stats.lock:
                    stats.open -= 1

        def log_message(self, *args):  # quiet
            pass

        def forward(self, method: str):
            with stats.lock:
                stats.requests += 1
            time.sleep(latency_s)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            for attempt in range(2):
                conn = backend_connection(fresh=attempt > 0)
                try:
                    conn.request(method, self.path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    if attempt == 1:
                        self.send_error(502)
                        return
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                lk = k.lower()
                if lk in HOP_BY_HOP or lk == "content-length":
                    continue
                if lk == "location":
                    for src, dst in rewrites:
                        if v.startswith(src):
                            v = dst + v[len(src):]
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            self.forward("GET")

        def do_HEAD(self):
            self.forward("HEAD")

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--backend", required=True)
    ap.add_argument("--rewrite", action="append", default=[])
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--port-file")
    ap.add_argument("--stats-file")
    a = ap.parse_args()
    rewrites = [tuple(r.split("=", 1)) for r in a.rewrite]
    stats = Stats()
    handler = make_handler(urllib.parse.urlsplit(a.backend), rewrites, a.latency_ms / 1000, stats)
    server = http.server.ThreadingHTTPServer((a.host, 0), handler)
    server.daemon_threads = True

    def stop(*_):
        if a.stats_file:
            with stats.lock:
                data = {"opened": stats.opened, "peak": stats.peak, "requests": stats.requests,
                        "cpu_s": time.process_time()}
            with open(a.stats_file, "w") as f:
                json.dump(data, f)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"http://{a.host}:{server.server_address[1]}\n")
        os.rename(tmp, a.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
