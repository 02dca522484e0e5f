#!/usr/bin/python3
"""mpi4py.futures' MPIPoolExecutor on the workloads of mpi_benchmark.cc (issue 15).

Run under MPI with Debian's Python (Debian's python3-mpi4py is built for /usr/bin/python3):
  mpirun --oversubscribe -np 3 /usr/bin/python3 -m mpi4py.futures tools/bench/mpi_python.py [--quick]
Rank 0 runs this script; ranks 1 and 2 are the pool's workers (mpi4py.futures' SPMD mode).
Prints one "name value" line per figure (the best of the repeats), as the other *_python.py do.
"""
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def noop(x):
    return x


def best(f, repeats):
    return min(f() for _ in range(repeats))


def main():
    quick = "--quick" in sys.argv
    tasks = 500 if quick else 5_000
    items = 100_000 if quick else 1_000_000
    repeats = 1 if quick else 3
    with MPIPoolExecutor(max_workers=2) as pool:
        pool.submit(noop, 0).result()

        def submit():
            start = time.perf_counter()
            for f in [pool.submit(noop, i) for i in range(tasks)]:
                f.result()
            return time.perf_counter() - start

        def map_chunked():
            data = range(items)
            start = time.perf_counter()
            for _ in pool.map(noop, data, chunksize=1000):
                pass
            return time.perf_counter() - start

        print(f"mpi4py_submit_noop_tasks_per_s {tasks / best(submit, repeats):.0f}", flush=True)
        print(f"mpi4py_map_chunked_items_per_s {items / best(map_chunked, repeats):.0f}",
              flush=True)


if __name__ == "__main__":
    main()
