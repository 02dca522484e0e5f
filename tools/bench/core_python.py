#!/usr/bin/env python3
"""Python reference for //tools/bench:core_benchmark: as_completed over 100k futures that
another thread completes, and set_result→result in one thread. Prints futures per second.

Usage: python3 tools/bench/core_python.py [--quick]   (--quick: one run of each, fewer calls)
"""
import argparse
import threading
import time
from concurrent.futures import Future, as_completed

N = 100_000


def as_completed_rate(repeats=3):
    best = 0.0
    for _ in range(repeats):
        futures = [Future() for _ in range(N)]
        go = threading.Event()

        def produce():
            go.wait()
            for f in futures:
                f.set_result(1)

        t = threading.Thread(target=produce)
        t.start()
        start = time.perf_counter()
        it = as_completed(futures)
        go.set()
        count = sum(f.result() for f in it)
        elapsed = time.perf_counter() - start
        t.join()
        assert count == N
        best = max(best, N / elapsed)
    return best


def set_result_rate(n=200_000):
    start = time.perf_counter()
    for i in range(n):
        f = Future()
        f.set_result(i)
        f.result()
    return n / (time.perf_counter() - start)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each, fewer calls")
    args = parser.parse_args()
    rate = as_completed_rate(repeats=1 if args.quick else 3)
    print(f"python_as_completed_100k_futures_per_s {rate:.0f}")
    print(f"python_set_result_then_result_per_s "
          f"{set_result_rate(20_000 if args.quick else 200_000):.0f}")
