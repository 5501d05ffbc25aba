#!/usr/bin/env python3
"""Hub client under three server profiles: mbuild vs @huggingface/hub, measured in the same run.

Each profile is started by this script on 127.0.0.1 / 127.0.0.2 with 50 ms per request:
  python   a small threaded HTTP/1.1 server: Python's ThreadingHTTPServer (default listen
           backlog 5, a thread per connection) in front of the mock Hub and of its CDN
           (bench/http1_front.py); the latency is added by the front
  limited  an HTTP/1.1 server that serves at most 16 connections per client: the mock Hub with
           16 worker threads per server (a 17th connection waits until one closes)
  h2       an HTTP/2 TLS front: nghttpx (Debian's nghttp2-proxy, run with --conf=/dev/null) before
           the mock Hub and before its CDN, with a CA made for the run (mbuild gets it through
           CURL_CA_BUNDLE, node through NODE_EXTRA_CA_CERTS)

For every (profile, repo, tool) and run, fresh servers and fresh client caches; reported: wall
time (median), requests (the mock's log), connections the client opened, the most open at once
per host, ranged reads per shard, and the HTTP version. Then two 191-shard repos in one mbuild
call against one alone. Totals are checked against tests/data/corpus/truth.json.

    python3 bench/profiles_bench.py [--runs 3] [--profiles python limited h2] [--skip-js]

Standard library only; needs build/release (or build/ci) mbuild and mock_hub_server, nghttpx and
openssl for h2, and `npm ci` in bench/ for the JS peer. See bench/PROFILES.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REPOS = ["meta-llama/Llama-3.1-405B-Instruct", "Qwen/Qwen3-Next-80B-A3B-Thinking",
         "openai-community/gpt2"]
SCRUB_ENV = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT",
             "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "MBUILD_CACHE", "XDG_CACHE_HOME", "HF_HOME",
             "HF_HUB_CACHE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
             "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS"]


def first_existing(*paths: Path) -> Path | None:
    return next((p for p in paths if p.is_file()), None)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_file(path: Path, proc: subprocess.Popen, what: str) -> str:
    deadline = time.monotonic() + 30
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.01)
    return path.read_text().strip()


def wait_port(host: str, port: int, proc: subprocess.Popen):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("nghttpx exited")
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("nghttpx does not listen")


def stop(proc: subprocess.Popen):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Servers:
    """One profile's servers for one run: endpoint, client env additions, and stats at stop."""

    def __init__(self, a, profile: str, repos: dict[str, Path], work: Path, ca_dir: Path,
                 mock_args: tuple[str, ...] = ()):
        self.profile, self.work, self.procs = profile, work, []
        self.env: dict[str, str] = {}
        mock_log, mock_stats = work / "mock.jsonl", work / "mock-stats.json"
        self.mock_log, self.mock_stats = mock_log, mock_stats
        cdn_port = free_port("127.0.0.2")
        cmd = [str(a.mock), "--port-file", str(work / "endpoint"), "--log-file", str(mock_log),
               "--stats-file", str(mock_stats), "--cdn-port", str(cdn_port)]
        for rid, folder in repos.items():
            cmd += ["--repo", f"{rid}={folder}"]
        cmd += list(mock_args)
        cdn_front_port = free_port("127.0.0.2")
        if profile == "limited":
            cmd += ["--latency-ms", str(a.latency_ms), "--threads", "16"]
        elif profile == "mock":  # the mock Hub itself (200 workers per server): not the bottleneck
            cmd += ["--latency-ms", str(a.latency_ms)]
        elif profile == "h2":
            cmd += ["--latency-ms", str(a.latency_ms),
                    "--cdn-origin", f"https://127.0.0.2:{cdn_front_port}"]
        else:
            cmd += ["--latency-ms", "0"]
        mock = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(mock)
        mock_endpoint = wait_file(work / "endpoint", mock, "mock_hub_server")
        mock_cdn = f"http://127.0.0.2:{cdn_port}"
        self.endpoint = mock_endpoint
        if profile == "python":
            self.fronts = []
            cdn_pf, hub_pf = work / "cdn-front", work / "hub-front"
            cdn = subprocess.Popen([sys.executable, str(BENCH / "http1_front.py"), "--host",
                                    "127.0.0.2", "--backend", mock_cdn, "--latency-ms",
                                    str(a.latency_ms), "--port-file", str(cdn_pf),
                                    "--stats-file", str(work / "cdn-front.json")])
            self.procs.append(cdn)
            cdn_origin = wait_file(cdn_pf, cdn, "http1_front (cdn)")
            hub = subprocess.Popen([sys.executable, str(BENCH / "http1_front.py"), "--backend",
                                    mock_endpoint, "--rewrite", f"{mock_cdn}={cdn_origin}",
                                    "--latency-ms", str(a.latency_ms), "--port-file",
                                    str(hub_pf), "--stats-file", str(work / "hub-front.json")])
            self.procs.append(hub)
            self.endpoint = wait_file(hub_pf, hub, "http1_front (hub)")
        elif profile == "h2":
            hub_port = free_port("127.0.0.1")
            for host, port, backend, log in [
                    ("127.0.0.1", hub_port, mock_endpoint, work / "hub-access.log"),
                    ("127.0.0.2", cdn_front_port, mock_cdn, work / "cdn-access.log")]:
                b = backend.split("://")[1].replace(":", ",")
                p = subprocess.Popen(
                    ["nghttpx", "--conf=/dev/null", f"--frontend={host},{port}",
                     f"--backend={b};;proto=http/1.1", "--workers=1", "--no-ocsp",
                     "--backend-connections-per-host=128", "--log-level=WARN",
                     "--errorlog-file=/dev/null", f"--accesslog-file={log}",
                     "--accesslog-format=$remote_port $alpn",
                     str(ca_dir / "server.key"), str(ca_dir / "server.pem")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.procs.append(p)
                wait_port(host, port, p)
            self.endpoint = f"https://127.0.0.1:{hub_port}"
            self.env = {"CURL_CA_BUNDLE": str(ca_dir / "ca.pem"),
                        "NODE_EXTRA_CA_CERTS": str(ca_dir / "ca.pem")}

    def finish(self) -> dict:
        """Stops every server; returns requests, connections, peak, ranged reads, versions."""
        for p in reversed(self.procs):
            stop(p)
        log = [json.loads(l) for l in self.mock_log.read_text().splitlines() if l.strip()]
        out = {"requests": len(log),
               "cdn_ranged": sum(1 for r in log if r.get("cdn") and r.get("range")
                                 and 200 <= r.get("status", 0) < 300)}
        if self.profile == "python":
            h = json.loads((self.work / "hub-front.json").read_text())
            c = json.loads((self.work / "cdn-front.json").read_text())
            out.update(connections=h["opened"] + c["opened"], peak=max(h["peak"], c["peak"]),
                       http="HTTP/1.1")
        elif self.profile in ("limited", "mock"):
            s = json.loads(self.mock_stats.read_text())
            out.update(connections=s["hub"]["opened"] + s["cdn"]["opened"],
                       peak=max(s["hub"]["peak"], s["cdn"]["peak"]), http="HTTP/1.1")
        else:
            ports, alpn = set(), {}
            for name in ("hub-access.log", "cdn-access.log"):
                f = self.work / name
                for line in (f.read_text().splitlines() if f.exists() else []):
                    port, _, proto = line.partition(" ")
                    ports.add((name, port))
                    alpn[proto or "-"] = alpn.get(proto or "-", 0) + 1
            top = max(alpn, key=alpn.get) if alpn else "-"
            out.update(connections=len(ports), peak=None,
                       http={"h2": "HTTP/2", "http/1.1": "HTTP/1.1"}.get(top, top))
        return out


def run_client(a, tool: str, repos: list[str], servers: Servers, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env.update({"MBUILD_CACHE": str(home / "mbuild"), "XDG_CACHE_HOME": str(home / "xdg"),
                "HF_HOME": str(home / "hf"), "HF_TOKEN_PATH": str(home / "no-token")})
    env.update(servers.env)
    if tool == "mbuild":
        cmd = [str(a.mbuild), "inspect", *repos, "--endpoint", servers.endpoint, "--format",
               "json", "--quiet"]
    else:
        cmd = [a.node, str(BENCH / "hub_peer.mjs"), repos[0], servers.endpoint]
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=BENCH, capture_output=True, text=True,
                       timeout=a.timeout)
    wall = (time.perf_counter() - start) * 1000
    totals = []
    try:
        if tool == "mbuild":
            doc = json.loads(p.stdout)
            docs = doc if isinstance(doc, list) else [doc]
            totals = [int(d["params"]["raw_elements"]) for d in docs]
        else:
            totals = [int(json.loads(p.stdout)["parameter_sum"])]
    except (ValueError, KeyError, TypeError):
        pass
    return {"ok": p.returncode == 0 and bool(totals), "wall_ms": wall, "totals": totals,
            "error": p.stderr.strip()[-300:]}


def one_run(a, profile, tool, repo_ids, folders, ca_dir, label) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"prof-{profile}-", dir=a.workdir))
    try:
        servers = Servers(a, profile, {r: folders[r] for r in repo_ids}, work, ca_dir)
        try:
            client = run_client(a, tool, repo_ids, servers, work / "client")
        finally:
            server = servers.finish()
        r = {**client, **server, "profile": profile, "tool": tool, "repo": label}
        status = "ok" if r["ok"] else f"FAILED {r['error']}"
        print(f"  {profile:8s} {tool:6s} {label:40s} {r['wall_ms']:8.0f} ms {r['requests']:4d} req "
              f"{r['connections']:4d} conn {status}", file=sys.stderr)
        return r
    finally:
        shutil.rmtree(work, ignore_errors=True)


def med(rs, key):
    xs = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(xs) if xs else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profiles", nargs="+", default=["python", "limited", "h2"])
    ap.add_argument("--repos", nargs="+", default=REPOS)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--mbuild", type=Path, default=first_existing(
        ROOT / "build/release/src/mbuild", ROOT / "build/ci/src/mbuild"))
    ap.add_argument("--mock", type=Path, default=first_existing(
        ROOT / "build/release/tests/hub/mock_hub_server",
        ROOT / "build/ci/tests/hub/mock_hub_server"))
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests/data/corpus")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--skip-js", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not a.mbuild or not a.mock:
        print("profiles_bench: build mbuild and mock_hub_server first", file=sys.stderr)
        return 2
    if not a.skip_js and not (BENCH / "node_modules/@huggingface/hub").is_dir():
        print("profiles_bench: run `npm ci` in bench/ first (or --skip-js)", file=sys.stderr)
        return 2
    a.workdir = Path(tempfile.mkdtemp(prefix="profiles-bench-"))
    truth = {t["hf_id"]: t for t in json.loads((a.corpus / "truth.json").read_text())}
    folders = {r: a.corpus / r.replace("/", "__") for r in a.repos}
    ca_dir = a.workdir / "ca"
    if "h2" in a.profiles:
        ca_dir.mkdir()
        d = str(ca_dir)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        subprocess.run(["openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=bench-ca",
                        "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                        "keyUsage=critical,keyCertSign,cRLSign", "-keyout", f"{d}/ca.key",
                        "-out", f"{d}/ca.pem"], check=True, capture_output=True)
        subprocess.run(["openssl", "req", *ec, "-subj", "/CN=127.0.0.1", "-keyout",
                        f"{d}/server.key", "-out", f"{d}/server.csr"], check=True,
                       capture_output=True)
        (ca_dir / "server.ext").write_text(
            "subjectAltName=IP:127.0.0.1,IP:127.0.0.2\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        subprocess.run(["openssl", "x509", "-req", "-days", "2", "-in", f"{d}/server.csr", "-CA",
                        f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-extfile",
                        f"{d}/server.ext", "-out", f"{d}/server.pem"], check=True,
                       capture_output=True)
    tools = ["mbuild"] + ([] if a.skip_js else ["js"])
    print(f"# Hub client under three server profiles, {a.latency_ms} ms per request, "
          f"{a.runs} runs, medians; {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPUs")
    print(f"# mbuild: {a.mbuild}; mock: {a.mock}")
    runs = []
    try:
        for profile in a.profiles:
            for _ in range(a.runs):
                for repo in a.repos:
                    for tool in tools:
                        runs.append(one_run(a, profile, tool, [repo], folders, ca_dir, repo))
            # Two big repos in one call (the same 191 shards under two ids) against one alone.
            big = a.repos[0]
            folders2 = {big: folders[big], big + "-copy": folders[big]}
            for _ in range(a.runs):
                runs.append(one_run(a, profile, "mbuild", [big, big + "-copy"], folders2, ca_dir,
                                    "two repos in one call"))
    finally:
        shutil.rmtree(a.workdir, ignore_errors=True)

    print("\n| profile | repo | shards | tool | wall ms | req | conn opened | peak conn/host "
          "| ranged reads/shard | HTTP | exact | JS/mbuild |")
    print("|---|---|--:|---|--:|--:|--:|--:|--:|---|---|--:|")
    for profile in a.profiles:
        for repo in a.repos + ["two repos in one call"]:
            t = truth.get(repo, {})
            shards = t.get("files") or truth[a.repos[0]]["files"] * 2
            m_ms = None
            for tool in tools:
                rs = [r for r in runs if r["profile"] == profile and r["repo"] == repo
                      and r["tool"] == tool]
                if not rs:
                    continue
                ok = [r for r in rs if r["ok"]]
                want = ([truth[a.repos[0]]["raw_elements"]] * 2 if repo.startswith("two")
                        else [t.get("raw_elements")])
                exact = "yes" if ok and all(r["totals"] == want for r in ok) and len(ok) == len(
                    rs) else f"NO ({len(ok)}/{len(rs)} ok)"
                ms = med(ok, "wall_ms")
                if tool == "mbuild":
                    m_ms = ms
                ratio = (f"{ms / m_ms:.1f}x" if tool == "js" and ms and m_ms else "")
                peak = med(ok, "peak")
                reads = med(ok, "cdn_ranged")
                http = ok[0]["http"] if ok else "-"
                print(f"| {profile} | {repo} | {shards} | {tool} | "
                      f"{'-' if ms is None else f'{ms:.0f}'} | {med(ok, 'requests') or '-'} | "
                      f"{med(ok, 'connections') or '-'} | {'-' if peak is None else peak} | "
                      f"{'-' if reads is None else f'{reads / shards:.2f}'} | {http} | {exact} | "
                      f"{ratio} |")
    alone = {p: med([r for r in runs if r["profile"] == p and r["repo"] == a.repos[0]
                     and r["tool"] == "mbuild" and r["ok"]], "wall_ms") for p in a.profiles}
    both = {p: med([r for r in runs if r["profile"] == p and r["repo"].startswith("two")
                    and r["ok"]], "wall_ms") for p in a.profiles}
    print("\nTwo 191-shard repos in one call vs one alone (mbuild): " + "; ".join(
        f"{p} {both[p] / alone[p]:.2f}x" for p in a.profiles if both[p] and alone[p]))
    if a.json:
        a.json.write_text(json.dumps(runs, indent=1))
    bad = [r for r in runs if not r["ok"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
