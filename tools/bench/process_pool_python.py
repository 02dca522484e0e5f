#!/usr/bin/env python3
"""Python reference for //tools/bench:process_pool_benchmark: the same workloads with
concurrent.futures.ProcessPoolExecutor, 2 workers, for each start method. Prints one
"name value" line per figure (the unit ends the name).

Usage: python3 tools/bench/process_pool_python.py [--quick] [--fresh-samples=N] [--fresh-only]
                                                  [METHOD ...]
METHOD is fork, forkserver or spawn (default: all three). --quick measures each figure once, on
smaller inputs (500 submits, a 100k-item map, 200k-term sums of squares): fast and rougher.

The fresh-process figures (python_<method>_fresh_*, next to //tools/bench:first_result_probe):
each sample is a new `python3 -c` process that constructs ProcessPoolExecutor(2, mp_context=
<method>) and waits for its first result, so the forkserver is not running yet, as in a program
that has just started; the figure is the median of --fresh-samples (default 5) processes.
  python_<method>_fresh_first_result_ms  constructing the pool → the first result (abs(-1): a
                                         builtin, since a function of a `-c` program cannot be
                                         found by spawn and forkserver workers). Importing
                                         concurrent.futures.process and getting the context come
                                         before the window, as cf's loading does.
  python_<method>_fresh_since_start_ms   from just before the process was started (this script's
                                         time.monotonic_ns(), the clock the probe's T0_NS uses)
                                         to the first result: interpreter start-up, imports and
                                         the window.
--fresh-only prints only these.
"""
import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def noop(x):
    return x


def echo(data):
    return data


def sum_of_squares(n):
    return sum(i * i for i in range(n))


def best(f, repeats=3):
    return min(f() for _ in range(repeats))


def submit_rate(ctx, tasks=5_000, repeats=3):
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(noop, 0).result()
        pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            for f in [pool.submit(noop, i) for i in range(tasks)]:
                f.result()
            return time.perf_counter() - start

        return tasks / best(run, repeats)


def map_rate(ctx, items=1_000_000, repeats=3):
    data = list(range(items))
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            for _ in pool.map(noop, data, chunksize=1000):
                pass
            return time.perf_counter() - start

        return items / best(run, repeats)


def first_result_ms(ctx, repeats=5):
    def run():
        start = time.perf_counter()
        pool = ProcessPoolExecutor(2, mp_context=ctx)
        pool.submit(noop, 1).result()
        elapsed = time.perf_counter() - start
        pool.shutdown()
        return elapsed

    return best(run, repeats) * 1000


def echo_mb_s(ctx, repeats=3):
    data = bytes(16 << 20)
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            pool.submit(echo, data).result()
            return time.perf_counter() - start

        return 16 / best(run, repeats)


def echo_first_call_mb_s(ctx, repeats=3):
    """A new pool's first call: workers start, and 16 MB go to one and back."""
    data = bytes(16 << 20)

    def run():
        start = time.perf_counter()
        pool = ProcessPoolExecutor(2, mp_context=ctx)
        pool.submit(echo, data).result()
        elapsed = time.perf_counter() - start
        pool.shutdown()
        return elapsed

    return 16 / best(run, repeats)


def sum_of_squares_s(ctx, workers, n=2_000_000, tasks=8, repeats=2):
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for _ in range(workers):
            pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            list(pool.map(sum_of_squares, [n] * tasks))
            return time.perf_counter() - start

        return best(run, repeats)


# One fresh-process sample: argv = [method, t0_ns]; prints "<window ms> <since t0 ms>".
FRESH_CHILD = """
import sys, time
import concurrent.futures.process
import multiprocessing
method, t0 = sys.argv[1], int(sys.argv[2])
ctx = multiprocessing.get_context(method)
start = time.monotonic_ns()
pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx)
pool.submit(abs, -1).result()
end = time.monotonic_ns()
print(f"{(end - start) / 1e6:.3f} {(end - t0) / 1e6:.3f}", flush=True)
pool.shutdown()
"""


def fresh_first_result_ms(method, samples=5, timeout=120):
    """Medians over `samples` new processes: (construction → first result, since start) in ms."""
    windows, since_start = [], []
    for _ in range(samples):
        command = [sys.executable, "-c", FRESH_CHILD, method]
        t0 = time.monotonic_ns()
        out = subprocess.run(command + [str(t0)], capture_output=True, text=True, check=True,
                             timeout=timeout).stdout.split()
        windows.append(float(out[0]))
        since_start.append(float(out[1]))
    return statistics.median(windows), statistics.median(since_start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="*", metavar="METHOD",
                        help="fork, forkserver or spawn (default: all three)")
    parser.add_argument("--quick", action="store_true", help="one run each, smaller inputs")
    parser.add_argument("--fresh-samples", type=int, default=5, metavar="N",
                        help="fresh processes per fresh-process figure (default 5; 0: none)")
    parser.add_argument("--fresh-only", action="store_true",
                        help="only the fresh-process figures")
    args = parser.parse_args()
    methods = args.methods or ["fork", "forkserver", "spawn"]
    for method in methods:
        if method not in ("fork", "forkserver", "spawn"):
            parser.error(f"unknown start method {method!r}")
    # Keyword arguments for each figure: none (the defaults above) or the quick sizes.
    quick = {
        "submit": {"tasks": 500, "repeats": 1},
        "map": {"items": 100_000, "repeats": 1},
        "first": {"repeats": 1},
        "echo": {"repeats": 1},
        "squares": {"n": 200_000, "repeats": 1},
    }
    size = quick if args.quick else {key: {} for key in quick}
    if args.fresh_samples > 0:
        for method in methods:
            window, since_start = fresh_first_result_ms(method, args.fresh_samples)
            print(f"python_{method}_fresh_first_result_ms {window:.2f}")
            print(f"python_{method}_fresh_since_start_ms {since_start:.2f}")
    if args.fresh_only:
        return
    for method in methods:
        ctx = mp.get_context(method)
        print(f"python_{method}_submit_noop_tasks_per_s {submit_rate(ctx, **size['submit']):.0f}")
        print(f"python_{method}_map_chunksize1000_items_per_s "
              f"{map_rate(ctx, **size['map']):.0f}")
        print(f"python_{method}_first_result_ms {first_result_ms(ctx, **size['first']):.2f}")
        print(f"python_{method}_echo_16mb_mb_per_s {echo_mb_s(ctx, **size['echo']):.0f}")
        print(f"python_{method}_echo_16mb_first_call_mb_per_s "
              f"{echo_first_call_mb_s(ctx, **size['echo']):.0f}")
    ctx = mp.get_context("fork")
    one = sum_of_squares_s(ctx, 1, **size["squares"])
    two = sum_of_squares_s(ctx, 2, **size["squares"])
    print(f"python_fork_sum_of_squares_speedup_2_vs_1 {one / two:.2f}")


if __name__ == "__main__":
    main()
