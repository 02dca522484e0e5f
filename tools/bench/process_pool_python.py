#!/usr/bin/env python3
"""Python reference for //tools/bench:process_pool_benchmark: the same workloads with
concurrent.futures.ProcessPoolExecutor, 2 workers, for each start method. Prints one
"name value" line per figure (the unit ends the name).

Usage: python3 tools/bench/process_pool_python.py [--quick] [METHOD ...]
METHOD is fork, forkserver or spawn (default: all three). --quick measures each figure once, on
smaller inputs (500 submits, a 100k-item map, 200k-term sums of squares): fast and rougher.
"""
import argparse
import multiprocessing as mp
import os
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


def sum_of_squares_s(ctx, workers, n=2_000_000, tasks=8, repeats=2):
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for _ in range(workers):
            pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            list(pool.map(sum_of_squares, [n] * tasks))
            return time.perf_counter() - start

        return best(run, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="*", metavar="METHOD",
                        help="fork, forkserver or spawn (default: all three)")
    parser.add_argument("--quick", action="store_true", help="one run each, smaller inputs")
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
    for method in methods:
        ctx = mp.get_context(method)
        print(f"python_{method}_submit_noop_tasks_per_s {submit_rate(ctx, **size['submit']):.0f}")
        print(f"python_{method}_map_chunksize1000_items_per_s "
              f"{map_rate(ctx, **size['map']):.0f}")
        print(f"python_{method}_first_result_ms {first_result_ms(ctx, **size['first']):.2f}")
        print(f"python_{method}_echo_16mb_mb_per_s {echo_mb_s(ctx, **size['echo']):.0f}")
    ctx = mp.get_context("fork")
    one = sum_of_squares_s(ctx, 1, **size["squares"])
    two = sum_of_squares_s(ctx, 2, **size["squares"])
    print(f"python_fork_sum_of_squares_speedup_2_vs_1 {one / two:.2f}")


if __name__ == "__main__":
    main()
