#!/usr/bin/env python3
"""Python reference for //tools/bench:process_pool_benchmark: the same workloads with
concurrent.futures.ProcessPoolExecutor, 2 workers, for each start method. Prints one
"name value unit" line per figure."""
import multiprocessing as mp
import os
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


def submit_rate(ctx, tasks=5_000):
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(noop, 0).result()
        pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            for f in [pool.submit(noop, i) for i in range(tasks)]:
                f.result()
            return time.perf_counter() - start

        return tasks / best(run)


def map_rate(ctx, items=1_000_000):
    data = list(range(items))
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            for _ in pool.map(noop, data, chunksize=1000):
                pass
            return time.perf_counter() - start

        return items / best(run)


def first_result_ms(ctx):
    def run():
        start = time.perf_counter()
        pool = ProcessPoolExecutor(2, mp_context=ctx)
        pool.submit(noop, 1).result()
        elapsed = time.perf_counter() - start
        pool.shutdown()
        return elapsed

    return best(run, 5) * 1000


def echo_mb_s(ctx):
    data = bytes(16 << 20)
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            pool.submit(echo, data).result()
            return time.perf_counter() - start

        return 16 / best(run)


def sum_of_squares_s(ctx, workers, n=2_000_000, tasks=8):
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for _ in range(workers):
            pool.submit(noop, 0).result()

        def run():
            start = time.perf_counter()
            list(pool.map(sum_of_squares, [n] * tasks))
            return time.perf_counter() - start

        return best(run, 2)


if __name__ == "__main__":
    methods = sys.argv[1:] or ["fork", "forkserver", "spawn"]
    for method in methods:
        ctx = mp.get_context(method)
        print(f"python_{method}_submit_noop_tasks_per_s {submit_rate(ctx):.0f}")
        print(f"python_{method}_map_chunksize1000_items_per_s {map_rate(ctx):.0f}")
        print(f"python_{method}_first_result_ms {first_result_ms(ctx):.2f}")
        print(f"python_{method}_echo_16mb_mb_per_s {echo_mb_s(ctx):.0f}")
    ctx = mp.get_context("fork")
    one, two = sum_of_squares_s(ctx, 1), sum_of_squares_s(ctx, 2)
    print(f"python_fork_sum_of_squares_speedup_2_vs_1 {one / two:.2f}")
