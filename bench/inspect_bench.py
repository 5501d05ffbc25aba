#!/usr/bin/env python3
"""Times `mbuild inspect <folder> --format json` against a stand-in for huggingface_hub's
safetensors header parsing (bench/peer_python_headers.py) on corpus models.

Builds nothing. Reports only: slowness never makes it fail; it exits non-zero only when a
program cannot be run or a count is wrong. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(ROOT, "tests", "data", "corpus")
PEER = os.path.join(HERE, "peer_python_headers.py")
DEFAULT_BINARIES = [
    os.path.join(ROOT, "build", "release", "src", "mbuild"),
    os.path.join(ROOT, "build", "src", "mbuild"),
]
DEFAULT_MODELS = [
    "Qwen__Qwen3-Next-80B-A3B-Thinking",
    "meta-llama__Llama-3.3-70B-Instruct",
    "openai-community__gpt2",
]
TARGET_MODEL = "Qwen__Qwen3-Next-80B-A3B-Thinking"
TARGET_MS = 50.0
TARGET_MB = 64.0


GNU_TIME = "/usr/bin/time"
RSS_RUNS = 5


def run_once(argv):
    """Runs argv once: (wall seconds from spawn to reap, ru_maxrss KiB from wait4, stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode()
        stderr = err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {stderr.strip()}")
    return wall, usage.ru_maxrss, stdout


def peak_rss_kb(argv):
    """Peak RSS of one run of argv in KiB, from GNU time's %M.

    Not from this process's wait4(): Python starts children with vfork/posix_spawn, so until
    exec the child runs on this interpreter's address space and Linux carries that high-water
    mark into the child's ru_maxrss, flooring every figure at this script's own RSS. GNU time
    fork()s from a ~2 MB process, so its floor is far below anything measured here.
    """
    with tempfile.NamedTemporaryFile(mode="r") as report:
        subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name] + argv, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return int(report.read().split()[-1])


def measure(argv, runs):
    run_once(argv)  # warm-up: page cache, dynamic loader; not counted
    samples = [run_once(argv) for _ in range(runs)]
    walls = [wall * 1000.0 for wall, _, _ in samples]
    if os.access(GNU_TIME, os.X_OK):
        peak_kb = max(peak_rss_kb(argv) for _ in range(min(runs, RSS_RUNS)))
    else:
        peak_kb = max(rss for _, rss, _ in samples)  # floored at this script's RSS, see above
    return {
        "median_ms": statistics.median(walls),
        "min_ms": min(walls),
        "peak_mb": peak_kb / 1024.0,
        "stdout": samples[-1][2],
        "stdouts": [out for _, _, out in samples],
    }


def rss_method():
    if os.access(GNU_TIME, os.X_OK):
        return f"peak RSS: max of {RSS_RUNS} further runs under {GNU_TIME} -f %M"
    return ("peak RSS: ru_maxrss from wait4() (no /usr/bin/time: floored at this script's own "
            "RSS)")


def find_binary(explicit):
    if explicit:
        return explicit
    for candidate in DEFAULT_BINARIES:
        if os.access(candidate, os.X_OK):
            return candidate
    sys.exit("inspect_bench: no mbuild binary found; build one or pass --binary "
             f"(looked for {', '.join(DEFAULT_BINARIES)})")


def machine_description():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} core(s) available, {platform.system()} {platform.release()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="mbuild to time (default: build/release/src/mbuild, "
                        "then build/src/mbuild)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per program (default 15)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the peer (default: this one)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS,
                        help="corpus folder names (default: Qwen3-Next, Llama-3.3-70B, gpt2)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    binary = find_binary(args.binary)
    with open(os.path.join(CORPUS, "truth.json")) as f:
        truth = {entry["folder"]: entry for entry in json.load(f)}

    print(f"date     {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine  {machine_description()}")
    print(f"mbuild   {binary}")
    print(f"peer     {args.python} {os.path.relpath(PEER, ROOT)}")
    print("         (a standard-library stand-in for huggingface_hub's get_safetensors_metadata")
    print("          parsing path on a local folder, NOT the huggingface_hub library itself)")
    print(f"runs     {args.runs} timed per program and model, after one warm-up: median and min")
    print(f"         wall time from spawn to exit; {rss_method()}")
    baseline = measure([args.python, "-c", "pass"], args.runs)
    print(f"python   interpreter start-up alone: median {baseline['median_ms']:.1f} ms, "
          f"peak {baseline['peak_mb']:.1f} MB (included in the peer's figures)")
    print()

    rows = []
    failures = []
    for model in args.models:
        folder = os.path.join(CORPUS, model)
        entry = truth.get(model)
        mb = measure([binary, "inspect", folder, "--format", "json"], args.runs)
        peer = measure([args.python, PEER, folder], args.runs)
        report = json.loads(mb["stdout"])
        mb_raw = report["params"]["raw_elements"]
        mb_tensors = sum(f["tensors"] for f in report["files"])
        peer_result = json.loads(peer["stdout"])
        peer_total = peer_result["total"]
        peer_parse_ms = statistics.median(json.loads(out)["parse_ms"] for out in peer["stdouts"])
        expected = entry["raw_elements"] if entry else None
        agree = mb_raw == peer_total and (expected is None or mb_raw == expected)
        if not agree:
            failures.append(f"{model}: mbuild raw_elements {mb_raw}, peer {peer_total}, "
                            f"truth.json raw_elements {expected}")
        if peer_result["tensors"] != mb_tensors:
            failures.append(f"{model}: mbuild saw {mb_tensors} tensors, peer "
                            f"{peer_result['tensors']}")
        rows.append({
            "model": model,
            "tensors": mb_tensors,
            "files": len(report["files"]),
            "mbuild_median_ms": mb["median_ms"],
            "mbuild_min_ms": mb["min_ms"],
            "mbuild_peak_mb": mb["peak_mb"],
            "peer_median_ms": peer["median_ms"],
            "peer_min_ms": peer["min_ms"],
            "peer_peak_mb": peer["peak_mb"],
            "peer_parse_ms": peer_parse_ms,
            "ratio": peer["median_ms"] / mb["median_ms"],
            "raw_elements": mb_raw,
            "totals_agree": agree,
        })

    header = (f"{'model':<36} {'tensors':>7} {'mbuild ms':>9} {'(min)':>6} {'mbuild MB':>9} "
              f"{'peer ms':>8} {'(min)':>6} {'peer MB':>7} {'peer/mbuild':>11} {'peer parse ms':>13}  "
              "totals agree")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<36} {r['tensors']:>7} {r['mbuild_median_ms']:>9.1f} "
              f"{r['mbuild_min_ms']:>6.1f} {r['mbuild_peak_mb']:>9.1f} "
              f"{r['peer_median_ms']:>8.1f} {r['peer_min_ms']:>6.1f} {r['peer_peak_mb']:>7.1f} "
              f"{r['ratio']:>10.1f}x {r['peer_parse_ms']:>13.1f}  {'yes' if r['totals_agree'] else 'NO'} "
              f"({r['raw_elements']:,})")
    print()
    print("peer ms / mbuild ms: whole runs, process start to exit, both programs alike.")
    print("peer parse ms: the peer's own in-process time for the parsing alone (no interpreter")
    print("start-up, no imports), i.e. a lower bound for a warm, long-lived Python process.")
    print()

    for r in rows:
        if r["model"] == TARGET_MODEL:
            time_ok = r["mbuild_median_ms"] < TARGET_MS
            mem_ok = r["mbuild_peak_mb"] < TARGET_MB
            print(f"targets on {TARGET_MODEL} (report only): median < {TARGET_MS:.0f} ms: "
                  f"{'met' if time_ok else 'MISSED'} ({r['mbuild_median_ms']:.1f} ms); "
                  f"peak RSS < {TARGET_MB:.0f} MB: {'met' if mem_ok else 'MISSED'} "
                  f"({r['mbuild_peak_mb']:.1f} MB)")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_description(), "binary": binary, "runs": args.runs,
                       "python_startup_ms": baseline["median_ms"], "rows": rows}, f, indent=2)
            f.write("\n")

    for failure in failures:
        print(f"inspect_bench: count mismatch: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        sys.exit(f"inspect_bench: {e}")
