#!/usr/bin/env python3
"""Python reference for //tools/bench:thread_pool_benchmark: the same four scenarios with
concurrent.futures.ThreadPoolExecutor.

  1. submit 200,000 no-op calls, then wait for every future; 2 workers  -> tasks/s
  2. submit one no-op call and wait for its result, 20,000 times        -> p50/p99 in us
  3. 16 CPU-bound calls (sum of squares) on 1 and on 2 workers          -> speedup
  4. 1,000,000 no-op calls queued behind a gate that blocks both workers -> RSS bytes per task

Usage:
  python3 tools/bench/thread_pool_python.py [--cf-json FILE] [--quick]

With --cf-json (the C++ benchmark's --benchmark_out=FILE --benchmark_out_format=json output)
it also prints cf's figures from that run (the medians over its repetitions) and the
cf/Python ratios. --quick shrinks every
scenario (for a smoke run). The CPU-bound calls sum fewer squares than the C++ ones (Python is
~100x slower per iteration); only the speedup is compared.
"""
import argparse
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

WORKERS = 2


def noop():
    pass


def sum_of_squares(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def submit_noop_rate(tasks, repeats):
    best = 0.0
    with ThreadPoolExecutor(WORKERS) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            futures = [pool.submit(noop) for _ in range(tasks)]
            wait(futures)
            best = max(best, tasks / (time.perf_counter() - start))
    return best


def round_trip_latency_us(rounds):
    samples = []
    with ThreadPoolExecutor(WORKERS) as pool:
        pool.submit(noop).result()  # start a worker first, as the C++ loop's warm-up does
        for _ in range(rounds):
            start = time.perf_counter()
            pool.submit(noop).result()
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(0.99 * len(samples)))]


def cpu_bound_seconds(workers, tasks, squares):
    with ThreadPoolExecutor(workers) as pool:
        start = time.perf_counter()
        for f in [pool.submit(sum_of_squares, squares) for _ in range(tasks)]:
            f.result()
        return time.perf_counter() - start


def bytes_per_pending_task(tasks):
    gate = threading.Event()
    started = threading.Semaphore(0)

    def block():
        started.release()
        gate.wait(timeout=600)

    with ThreadPoolExecutor(WORKERS) as pool:
        blockers = [pool.submit(block) for _ in range(WORKERS)]
        for _ in range(WORKERS):
            started.acquire(timeout=60)
        futures = []
        before = resident_bytes()
        for _ in range(tasks):
            futures.append(pool.submit(noop))
        after = resident_bytes()
        gate.set()
        wait(blockers + futures)
    return (after - before) / tasks


def cf_figures(path):
    """cf's figures from the C++ benchmark's JSON output."""
    with open(path) as f:
        runs = json.load(f)["benchmarks"]

    def find(prefix):
        """The median over repetitions if there are several, else the single run."""
        found = None
        for run in runs:
            name = run.get("run_name", run["name"])
            if not re.match(re.escape(prefix) + r"(/|$)", name):
                continue
            if run.get("run_type") == "aggregate" and run.get("aggregate_name") == "median":
                return run
            if run.get("run_type", "iteration") == "iteration" and found is None:
                found = run
        return found

    out = {}
    noop = find("BM_Cf_Submit200kNoop")
    if noop:
        out["noop"] = noop["items_per_second"]
    latency = find("BM_Cf_SubmitResultLatency")
    if latency:
        out["p50"], out["p99"] = latency["p50_us"], latency["p99_us"]
    one, two = find("BM_Cf_SumOfSquares/1"), find("BM_Cf_SumOfSquares/2")
    if one and two:
        out["speedup"] = one["real_time"] / two["real_time"]
    memory = find("BM_Cf_MemoryPerPendingTask")
    if memory:
        out["memory"] = memory["rss_bytes_per_task"]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cf-json", help="thread_pool_benchmark JSON output, for ratios")
    parser.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1

    noop_tasks = 200_000 // scale
    rate = submit_noop_rate(noop_tasks, repeats=1 if args.quick else 3)
    p50, p99 = round_trip_latency_us(20_000 // scale)
    squares = 1_000_000 // scale
    t1 = cpu_bound_seconds(1, 16, squares)
    t2 = cpu_bound_seconds(2, 16, squares)
    memory = bytes_per_pending_task(1_000_000 // scale)

    print(f"python {os.sys.version.split()[0]} ThreadPoolExecutor, {WORKERS} workers")
    print(f"python_submit_{noop_tasks // 1000}k_noop_tasks_per_s {rate:.0f}")
    print(f"python_submit_result_latency_p50_us {p50:.1f}")
    print(f"python_submit_result_latency_p99_us {p99:.1f}")
    print(f"python_cpu_bound_speedup_2_vs_1_workers {t1 / t2:.2f}")
    print(f"python_rss_bytes_per_pending_task {memory:.0f}")

    if args.cf_json:
        cf = cf_figures(args.cf_json)
        print("\ncf (from %s) vs Python:" % args.cf_json)
        if "noop" in cf:
            print(f"  no-op tasks/s     cf {cf['noop'] / 1e6:.2f}M  python {rate / 1e3:.0f}k"
                  f"  -> cf {cf['noop'] / rate:.0f}x faster (target >= 25x)")
        if "p50" in cf:
            print(f"  latency p50/p99   cf {cf['p50']:.1f}/{cf['p99']:.1f} us  python "
                  f"{p50:.1f}/{p99:.1f} us  -> cf p50 {p50 / cf['p50']:.1f}x lower")
        if "speedup" in cf:
            print(f"  CPU speedup 2w/1w cf {cf['speedup']:.2f}x  python {t1 / t2:.2f}x")
        if "memory" in cf:
            print(f"  bytes/pending     cf {cf['memory']:.0f}  python {memory:.0f}"
                  f"  -> cf {memory / cf['memory']:.1f}x smaller")


if __name__ == "__main__":
    main()
