#!/usr/bin/env python3
"""Hub benchmark (issue #3, deliverable 10): mbuild vs @huggingface/hub against the mock Hub.

For each repo (1, 4, 30 and 191 safetensors files by default) and each run, a fresh
mock_hub_server is started with an injected delay (--latency-ms per request,
--connection-latency-ms per new TCP connection, default 0), one client is run against it, and the mock is
stopped so that its request log (written at exit) holds exactly that run's requests.

  (a) mbuild inspect ORG/NAME --endpoint URL --format json   (fresh MBUILD_CACHE / HF_HOME)
  (b) node hub_peer.mjs ORG/NAME URL  -> @huggingface/hub parseSafetensorsMetadata(
        { repo, computeParametersCount: true, hubUrl })
  (c) totals: mbuild params.raw_elements vs the sum of the JS parameterCount per dtype vs
      truth.json raw_elements.

Wall time is the whole client process (perf_counter around the subprocess); the JS peer also
reports the time spent inside parseSafetensorsMetadata. Medians over --runs runs.

Then, unless --no-diagnostics, mbuild on the largest repo is run in a few extra setups to show
where its time goes: no injected delay (the "processing" baseline the acceptance target adds to
4 round trips), the cache on tmpfs (/dev/shm), a delay per new TCP connection on top, and
--jobs 64.

Standard library only. See bench/HUB_BENCH.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

DEFAULT_REPOS = [
    "meta-llama/Llama-3.2-1B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
    "meta-llama/Llama-3.1-405B-Instruct",
]

# Environment variables that would change what either client does (tokens, endpoint, offline).
SCRUB_ENV = [
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE", "HF_HUB_DOWNLOAD_TIMEOUT", "MBUILD_CACHE", "XDG_CACHE_HOME",
    "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
]


def first_existing(*candidates: Path) -> Path | None:
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    return None


@dataclass
class LogStats:
    requests: int = 0
    hub: int = 0
    cdn: int = 0
    connections: int = 0  # distinct TCP connections (new_connection flags)
    by_kind: dict = field(default_factory=dict)  # "GET 302 hub" -> n

    @staticmethod
    def read(path: Path) -> "LogStats":
        s = LogStats()
        if not path.exists():
            return s
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            s.requests += 1
            if r.get("cdn"):
                s.cdn += 1
            else:
                s.hub += 1
            if r.get("new_connection"):
                s.connections += 1
            k = f'{r.get("method")} {r.get("status")} {"cdn" if r.get("cdn") else "hub"}'
            s.by_kind[k] = s.by_kind.get(k, 0) + 1
        return s


@dataclass
class Run:
    tool: str
    repo: str
    ok: bool
    wall_ms: float
    inner_ms: float | None
    total: int | None
    log: LogStats
    error: str = ""


class MockHub:
    """One mock_hub_server process serving one repo; stop() returns its request log."""

    def __init__(self, exe: Path, corpus: Path, repo: str, latency: int, conn_latency: int,
                 workdir: Path):
        self.workdir = Path(tempfile.mkdtemp(prefix="mock-", dir=workdir))
        self.port_file = self.workdir / "endpoint"
        self.log_file = self.workdir / "requests.jsonl"
        folder = corpus / repo.replace("/", "__")
        cmd = [str(exe), "--repo", f"{repo}={folder}", "--latency-ms", str(latency),
               "--connection-latency-ms", str(conn_latency), "--port-file", str(self.port_file),
               "--log-file", str(self.log_file)]
        self.stderr = open(self.workdir / "stderr", "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + 30
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stderr.close()
                raise RuntimeError(f"mock_hub_server did not start: "
                                   f"{(self.workdir / 'stderr').read_text().strip()}")
            time.sleep(0.01)
        self.endpoint = self.port_file.read_text().strip()

    def stop(self) -> LogStats:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        stats = LogStats.read(self.log_file)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return stats


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.cache_root = Path(args.cache_root) if args.cache_root else self.workdir
        self.truth = {t["hf_id"]: t for t in json.loads((args.corpus / "truth.json").read_text())}

    def fresh_env(self, cache_root: Path) -> tuple[dict, Path]:
        home = Path(tempfile.mkdtemp(prefix="client-", dir=cache_root))
        env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
        env.update({
            "MBUILD_CACHE": str(home / "mbuild"),
            "XDG_CACHE_HOME": str(home / "xdg"),
            "HF_HOME": str(home / "hf"),
            "HF_HUB_CACHE": str(home / "hf" / "hub"),
            "HF_TOKEN_PATH": str(home / "no-token"),
        })
        return env, home

    def run_once(self, tool: str, repo: str, latency: int | None = None,
                 conn_latency: int | None = None, extra: list[str] | None = None,
                 cache_root: Path | None = None) -> Run:
        a = self.args
        mock = MockHub(a.mock, a.corpus, repo,
                       a.latency_ms if latency is None else latency,
                       a.connection_latency_ms if conn_latency is None else conn_latency,
                       self.workdir)
        env, home = self.fresh_env(cache_root or self.cache_root)
        if tool == "mbuild":
            cmd = [str(a.mbuild), "inspect", repo, "--endpoint", mock.endpoint,
                   "--format", "json", *(extra or [])]
        else:
            cmd = [a.node, str(BENCH / "hub_peer.mjs"), repo, mock.endpoint]
        try:
            start = time.perf_counter()
            p = subprocess.run(cmd, env=env, cwd=BENCH, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=a.timeout)
            wall = (time.perf_counter() - start) * 1000
        finally:
            log = mock.stop()
            shutil.rmtree(home, ignore_errors=True)
        run = Run(tool, repo, False, wall, None, None, log)
        try:
            out = json.loads(p.stdout) if p.stdout.strip() else {}
        except json.JSONDecodeError:
            out = {}
        if tool == "mbuild":
            run.ok = p.returncode == 0
            raw = out.get("params", {}).get("raw_elements")
            run.total = int(raw) if raw is not None else None
            if not run.ok:
                run.error = f"exit {p.returncode}: {p.stderr.strip()[-400:]}"
        else:
            run.ok = p.returncode == 0 and out.get("ok") is True
            run.inner_ms = out.get("elapsed_ms")
            if out.get("ok"):
                run.total = int(out["parameter_sum"])
            else:
                run.error = (out.get("error") or p.stderr.strip()[-400:] or
                             f"exit {p.returncode}")
        return run

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_ms(x):
    return "-" if x is None else f"{x:.0f}"


def fmt_n(x):
    return "-" if x is None else (f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--repos", nargs="+", default=DEFAULT_REPOS)
    ap.add_argument("--latency-ms", type=int, default=50)
    # The target is stated at 50 ms per request; a delay per new TCP connection is a
    # harsher model (HTTP/1.1 without reuse pays it on every hop), measured as a diagnostic.
    ap.add_argument("--connection-latency-ms", type=int, default=0)
    ap.add_argument("--mbuild", type=Path, default=first_existing(
        ROOT / "build/release/src/mbuild", ROOT / "build/src/mbuild"))
    ap.add_argument("--mock", type=Path, default=first_existing(
        ROOT / "build/release/tests/hub/mock_hub_server", ROOT / "build/tests/hub/mock_hub_server"))
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests/data/corpus")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--cache-root", default=None,
                    help="where the per-run client cache dirs are made (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--skip-js", action="store_true")
    ap.add_argument("--no-diagnostics", action="store_true")
    ap.add_argument("--json", type=Path, help="write every run's numbers here")
    args = ap.parse_args()

    if not args.mbuild or not args.mock:
        print("hub_bench: build mbuild and mock_hub_server first (see bench/HUB_BENCH.md)",
              file=sys.stderr)
        return 2
    if not args.skip_js and not (BENCH / "node_modules/@huggingface/hub").is_dir():
        print("hub_bench: run `npm ci` in bench/ first (or pass --skip-js)", file=sys.stderr)
        return 2

    bench = Bench(args)
    tools = ["mbuild"] + ([] if args.skip_js else ["js"])
    lat, clat = args.latency_ms, args.connection_latency_ms
    rt = lat if lat > 0 else None
    js_version = "-"
    try:
        js_version = json.loads(
            (BENCH / "node_modules/@huggingface/hub/package.json").read_text())["version"]
    except OSError:
        pass
    print(f"# Hub benchmark: mock Hub with {lat} ms per request and {clat} ms per new connection;"
          f" {args.runs} runs, medians")
    print(f"# mbuild: {args.mbuild}\n# mock:   {args.mock}")
    if not args.skip_js:
        node_version = subprocess.run([args.node, "--version"], capture_output=True,
                                      text=True).stdout.strip()
        print(f"# peer:   @huggingface/hub {js_version} (node {node_version})")
    print(f"# date {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPUs, "
          f"client caches under {bench.cache_root}")
    sys.stdout.flush()

    runs: list[Run] = []
    try:
        # Warm-up (not recorded): page cache for the binaries, node and the package.
        for tool in tools:
            bench.run_once(tool, args.repos[0])
        for i in range(args.runs):
            for repo in args.repos:
                for tool in tools:
                    r = bench.run_once(tool, repo)
                    runs.append(r)
                    status = "ok" if r.ok else f"FAILED {r.error}"
                    print(f"  run {i + 1} {tool:6s} {repo:40s} {r.wall_ms:8.0f} ms "
                          f"{r.log.requests:4d} req {status}", file=sys.stderr)

        def pick(tool, repo):
            return [r for r in runs if r.tool == tool and r.repo == repo]

        print()
        hdr = ("| repo | shards | mbuild ms | mbuild req | JS ms (process) | JS ms (in node) "
               "| JS req | speedup JS/mbuild | totals agree |")
        print(hdr)
        print("|---|--:|--:|--:|--:|--:|--:|--:|---|")
        summary = {}
        for repo in args.repos:
            t = bench.truth.get(repo, {})
            m, j = pick("mbuild", repo), pick("js", repo)
            m_ms = median([r.wall_ms for r in m if r.ok])
            m_req = median([r.log.requests for r in m if r.ok])
            j_ms = median([r.wall_ms for r in j if r.ok])
            j_in = median([r.inner_ms for r in j if r.ok])
            j_req = median([r.log.requests for r in j if r.ok])
            m_tot = {r.total for r in m if r.ok}
            j_tot = {r.total for r in j if r.ok}
            truth = t.get("raw_elements")
            if args.skip_js:
                agree = "mbuild=truth" if m_tot == {truth} else f"NO mbuild {m_tot} truth {truth}"
            elif not j or not all(r.ok for r in j):
                agree = "JS failed: " + (next((r.error for r in j if not r.ok), "") or "")[:80]
            else:
                agree = ("yes" if m_tot == j_tot == {truth}
                         else f"NO mbuild {sorted(m_tot)} JS {sorted(j_tot)} truth {truth}")
            speed = (j_ms / m_ms) if (m_ms and j_ms) else None
            summary[repo] = dict(files=t.get("files"), mbuild_ms=m_ms, mbuild_req=m_req,
                                 js_ms=j_ms, js_inner_ms=j_in, js_req=j_req, speedup=speed,
                                 truth=truth, mbuild_total=sorted(m_tot), js_total=sorted(j_tot))
            print(f"| {repo} | {t.get('files', '?')} | {fmt_ms(m_ms)} | {fmt_n(m_req)} | "
                  f"{fmt_ms(j_ms)} | {fmt_ms(j_in)} | {fmt_n(j_req)} | "
                  f"{'-' if speed is None else f'{speed:.2f}x'} | {agree} |")

        # Request mix and connections, median run per (tool, repo).
        print("\nRequest mix (one run each; connections = requests on a new TCP connection):")
        for repo in args.repos:
            for tool in tools:
                rs = [r for r in pick(tool, repo) if r.ok]
                if rs:
                    r = rs[len(rs) // 2]
                    mix = ", ".join(f"{k} x{v}" for k, v in sorted(r.log.by_kind.items()))
                    print(f"  {tool:6s} {repo}: {r.log.requests} requests "
                          f"(hub {r.log.hub}, cdn {r.log.cdn}), {r.log.connections} connections;"
                          f" {mix}")

        big = max(args.repos, key=lambda r: bench.truth.get(r, {}).get("files", 0))
        s = summary[big]
        diag = {}
        if not args.no_diagnostics:
            print(f"\nDiagnostics, mbuild on {big} ({args.runs} runs each, medians):")
            setups = [
                ("as above", dict()),
                ("no injected delay (processing)", dict(latency=0, conn_latency=0)),
                ("cache on tmpfs /dev/shm", dict(cache_root=Path("/dev/shm"))),
                ("no delay, cache on tmpfs", dict(latency=0, conn_latency=0,
                                                  cache_root=Path("/dev/shm"))),
                ("+ 50 ms per new connection", dict(conn_latency=50)),
                ("--jobs 64", dict(extra=["--jobs", "64"])),
            ]
            for name, kw in setups:
                if name == "as above":
                    diag[name] = s["mbuild_ms"]
                    continue
                if "cache_root" in kw and not Path("/dev/shm").is_dir():
                    continue
                rs = [bench.run_once("mbuild", big, **kw) for _ in range(args.runs)]
                ms = median([r.wall_ms for r in rs if r.ok])
                req = median([r.log.requests for r in rs if r.ok])
                conns = median([r.log.connections for r in rs if r.ok])
                diag[name] = ms
                delayed = rt and ms and kw.get("latency") != 0
                units = f" = {ms / rt:.1f} round trips" if delayed else ""
                print(f"  {name:34s} {fmt_ms(ms):>6s} ms{units}; {fmt_n(req)} requests, "
                      f"{fmt_n(conns)} connections")

        print(f"\nAcceptance ({big}, {s['files']} shards, {lat} ms per request):")
        if rt and s["mbuild_ms"]:
            print(f"  mbuild wall time = {s['mbuild_ms']:.0f} ms = "
                  f"{s['mbuild_ms'] / rt:.1f} round trips of {rt} ms")
        processing = diag.get("no injected delay (processing)")
        if rt and s["mbuild_ms"] is not None:
            if processing is not None:
                limit = 4 * rt + processing
                verdict = "PASS" if s["mbuild_ms"] <= limit else "FAIL"
                print(f"  {verdict}: at most 4 round trips + processing: {s['mbuild_ms']:.0f} ms vs "
                      f"4 x {rt} + {processing:.0f} ms (processing = the same run with no "
                      f"injected delay) = {limit:.0f} ms")
            else:
                print(f"  (4-round-trip target: {s['mbuild_ms']:.0f} ms vs 4 x {rt} = {4 * rt} ms "
                      f"+ processing; run without --no-diagnostics to measure processing)")
        if s["speedup"] is not None:
            verdict = "PASS" if s["speedup"] >= 5 else "FAIL"
            print(f"  {verdict}: at least 5x faster than @huggingface/hub: {s['speedup']:.2f}x "
                  f"(JS {s['js_ms']:.0f} ms vs mbuild {s['mbuild_ms']:.0f} ms, process wall time)")

        if args.json:
            args.json.write_text(json.dumps({
                "latency_ms": lat, "connection_latency_ms": clat, "runs": args.runs,
                "js_version": js_version, "summary": summary, "diagnostics": diag,
                "all_runs": [dict(tool=r.tool, repo=r.repo, ok=r.ok, wall_ms=r.wall_ms,
                                  inner_ms=r.inner_ms, total=r.total, requests=r.log.requests,
                                  hub=r.log.hub, cdn=r.log.cdn, connections=r.log.connections,
                                  by_kind=r.log.by_kind, error=r.error) for r in runs],
            }, indent=1))
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
