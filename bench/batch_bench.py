#!/usr/bin/env python3
"""Hundreds of models in one call: `mbuild inspect --from - --format jsonl` against the mock Hub.

For each server profile and each N (default 10, 50, 100, 250, 500, 1000), one mbuild process reads
N copies of one corpus repo (default Qwen/Qwen2.5-7B-Instruct: config.json, an index and 4
shards) from standard input, with 50 ms per request, fresh servers and a fresh client cache per
run. Profiles, started by bench/profiles_bench.py's Servers:

  mock     the mock Hub itself, 200 worker threads per server: a server that is not the bottleneck
  python   Python's ThreadingHTTPServer in front of the mock Hub and its CDN (bench/http1_front.py)
  limited  the mock Hub with 16 worker threads per server (a 17th connection waits)
  h2       nghttpx (TLS, ALPN h2) before the mock Hub and its CDN, if nghttpx and openssl exist

Reported per (profile, N): wall time, repos/s, requests and connections per repo (the mock's log
and stats file, the fronts' counts, or nghttpx's access log), peak RSS (/usr/bin/time's maximum
resident set size of the mbuild process), peak open descriptors (/proc/PID/fd sampled every few
milliseconds), the slowest source's seconds (the summary line's), the machine's load average, and whether every result was exact: N result lines
with exit code 0 and params.raw_elements equal to truth.json, then the summary line.

    python3 bench/batch_bench.py [--ns 10 50 100 250 500 1000] [--profiles mock python limited h2]
                                 [--runs 1] [--repo Qwen/Qwen2.5-7B-Instruct] [--json FILE]

Standard library only. Needs mbuild and mock_hub_server built (build/release, build/ci or
build/dev; or --mbuild / --mock). Exits non-zero when a run is not exact. See bench/BATCH.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import profiles_bench as pb  # noqa: E402  (its Servers start each profile)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def find_built(rel: str) -> Path | None:
    return pb.first_existing(*(ROOT / "build" / b / rel for b in ("release", "ci", "dev")))


def make_ca(ca_dir: Path):
    """A CA and a server certificate for 127.0.0.1 / 127.0.0.2, as profiles_bench makes them."""
    ca_dir.mkdir()
    d = str(ca_dir)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(list(args), check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=bench-ca", "-addext",
        "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem")
    run("openssl", "req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", f"{d}/server.key", "-out",
        f"{d}/server.csr")
    (ca_dir / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:127.0.0.2\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-days", "2", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem",
        "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-extfile", f"{d}/server.ext", "-out",
        f"{d}/server.pem")


def child_of(pid: int, timeout: float = 5.0) -> int | None:
    """The first child of `pid` (mbuild under /usr/bin/time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        if kids:
            return int(kids[0])
        time.sleep(0.001)
    return None


class FdSampler(threading.Thread):
    """Samples how many descriptors a process holds open, until it is gone or stopped."""

    def __init__(self, parent_pid: int):
        super().__init__(daemon=True)
        self.parent_pid, self.peak, self.stop = parent_pid, 0, threading.Event()

    def run(self):
        pid = child_of(self.parent_pid)
        if pid is None:
            return
        fd_dir = f"/proc/{pid}/fd"
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, len(os.listdir(fd_dir)))
            except OSError:
                return
            time.sleep(0.003)


def one_run(a, profile: str, n: int, ca_dir: Path, want: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"batch-{profile}-{n}-", dir=a.workdir))
    try:
        servers = pb.Servers(a, profile, {a.repo: a.folder}, work, ca_dir,
                             ("--copies", f"{a.repo}={n}"))
        try:
            env = {k: v for k, v in os.environ.items() if k not in pb.SCRUB_ENV}
            home = work / "client"
            env.update({"MBUILD_CACHE": str(home / "mbuild"), "XDG_CACHE_HOME": str(home / "xdg"),
                        "HF_HOME": str(home / "hf"), "HF_TOKEN_PATH": str(home / "no-token")})
            env.update(servers.env)
            sources = "".join(f"{a.repo}-{i}\n" for i in range(n))
            rss_file = work / "rss"
            cmd = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), str(a.mbuild), "inspect",
                   "--from", "-", "--format", "jsonl", "--endpoint", servers.endpoint,
                   *a.mbuild_args]
            load = os.getloadavg()[0]
            start = time.perf_counter()
            p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            fds = FdSampler(p.pid)
            fds.start()
            out, err = p.communicate(sources, timeout=a.timeout)
            wall = time.perf_counter() - start
            fds.stop.set()
            fds.join()
        finally:
            server = servers.finish()
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        results = [d for d in lines if "summary" not in d]
        exact = (p.returncode == 0 and len(results) == n and len(lines) == n + 1
                 and "summary" in lines[-1]
                 and all(d.get("exit_code") == 0
                         and int(d.get("params", {}).get("raw_elements", -1)) == want
                         for d in results)
                 and len({d["source"] for d in results}) == n)
        slowest = (lines[-1]["summary"].get("slowest") or [{}])[0].get("seconds") \
            if lines and "summary" in lines[-1] else None
        try:
            rss_mib = int(rss_file.read_text().split()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            rss_mib = None
        r = {"profile": profile, "n": n, "wall_s": wall, "repos_per_s": n / wall,
             "requests": server["requests"], "connections": server["connections"],
             "rss_mib": rss_mib, "peak_fds": fds.peak, "exact": exact, "load": load,
             "http": server["http"], "slowest_s": slowest, "error": "" if exact else err.strip()[-300:]}
        print(f"  {profile:8s} N={n:5d} {wall:7.2f} s {n / wall:7.1f} repos/s "
              f"{server['requests'] / n:5.1f} req/repo {server['connections'] / n:6.2f} conn/repo "
              f"{rss_mib or 0:6.1f} MiB {fds.peak:5d} fds slowest {slowest or 0:5.2f} s load {load:.1f} "
              f"{'exact' if exact else 'NOT EXACT ' + r['error']}", file=sys.stderr)
        return r
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ns", type=int, nargs="+", default=[10, 50, 100, 250, 500, 1000])
    ap.add_argument("--profiles", nargs="+", default=["mock", "python", "limited", "h2"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--repo", default="Qwen/Qwen2.5-7B-Instruct")
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--mbuild", type=Path, default=find_built("src/mbuild"))
    ap.add_argument("--mock", type=Path, default=find_built("tests/hub/mock_hub_server"))
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests/data/corpus")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--mbuild-args", type=str.split, default=[],
                    help="more arguments for mbuild inspect, one string ('--jobs 64')")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not a.mbuild or not a.mock:
        print("batch_bench: build mbuild and mock_hub_server first", file=sys.stderr)
        return 2
    if "h2" in a.profiles and not (shutil.which("nghttpx") and shutil.which("openssl")):
        print("batch_bench: no nghttpx or openssl: profile h2 left out", file=sys.stderr)
        a.profiles = [p for p in a.profiles if p != "h2"]
    truth = {t["hf_id"]: t for t in json.loads((a.corpus / "truth.json").read_text())}
    want = int(truth[a.repo]["raw_elements"])
    a.folder = a.corpus / a.repo.replace("/", "__")
    a.workdir = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    ca_dir = a.workdir / "ca"
    if "h2" in a.profiles:
        make_ca(ca_dir)
    print(f"# mbuild inspect --from - --format jsonl: N copies of {a.repo}, {a.latency_ms} ms "
          f"per request, {a.runs} run(s), medians; {time.strftime('%Y-%m-%d %H:%M %Z')}, "
          f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}")
    print(f"# mbuild: {a.mbuild} {' '.join(a.mbuild_args)}; mock: {a.mock}")
    runs = []
    try:
        for profile in a.profiles:
            for n in a.ns:
                for _ in range(a.runs):
                    runs.append(one_run(a, profile, n, ca_dir, want))
    finally:
        shutil.rmtree(a.workdir, ignore_errors=True)

    def med(rs, key):
        xs = [r[key] for r in rs if r.get(key) is not None]
        return statistics.median(xs) if xs else None

    print("\n| profile | N | wall s | repos/s | req/repo | conn/repo | peak RSS MiB | peak fds "
          "| slowest source s | HTTP | load | exact |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|")
    for profile in a.profiles:
        for n in a.ns:
            rs = [r for r in runs if r["profile"] == profile and r["n"] == n]
            if not rs:
                continue
            exact = "yes" if all(r["exact"] for r in rs) else \
                f"NO ({sum(r['exact'] for r in rs)}/{len(rs)})"
            print(f"| {profile} | {n} | {med(rs, 'wall_s'):.2f} | {med(rs, 'repos_per_s'):.1f} | "
                  f"{med(rs, 'requests') / n:.2f} | {med(rs, 'connections') / n:.3f} | "
                  f"{med(rs, 'rss_mib') or 0:.1f} | {med(rs, 'peak_fds'):.0f} | "
                  f"{med(rs, 'slowest_s') or 0:.2f} | {rs[0]['http']} | "
                  f"{med(rs, 'load'):.1f} | {exact} |")
    for profile in a.profiles:
        rss = {n: med([r for r in runs if r["profile"] == profile and r["n"] == n], "rss_mib")
               for n in (100, 1000)}
        if rss[100] and rss[1000]:
            print(f"\n{profile}: peak RSS at N=1000 / N=100: {rss[1000] / rss[100]:.2f}")
    if a.json:
        a.json.write_text(json.dumps(runs, indent=1))
    return 0 if all(r["exact"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
