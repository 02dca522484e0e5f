// tools/bench/thread_pool_memory.h — thread_pool_benchmark's memory scenario: bytes per pending
// task, measured in a fresh copy of the binary (--cf_memory_probe=<library>) so that memory that
// earlier benchmarks freed, and the allocators kept, does not hide the growth.
#ifndef CF_TOOLS_BENCH_THREAD_POOL_MEMORY_H_
#define CF_TOOLS_BENCH_THREAD_POOL_MEMORY_H_

#include <string>

#include "benchmark/benchmark.h"

namespace cf::bench {

struct MemoryFigures {
  double rss_bytes_per_task = 0;
  double heap_bytes_per_task = 0;
};

// Runs `<this binary> --cf_memory_probe=<library> [--cf_smoke]` and reads the two figures it
// prints; false (with `error`) if it failed.
bool RunMemoryProbe(const std::string& library, MemoryFigures& out, std::string& error);

// The child side of RunMemoryProbe, for main(); returns the process exit code.
int MemoryProbeMain(const std::string& library);

// BM_<Lib>_MemoryPerPendingTask.
template <typename Lib>
void BM_MemoryPerPendingTask(benchmark::State& state) {
  for (auto _ : state) {
    MemoryFigures figures;
    std::string error;
    if (!RunMemoryProbe(Lib::kName, figures, error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.counters["rss_bytes_per_task"] = figures.rss_bytes_per_task;
    state.counters["heap_bytes_per_task"] = figures.heap_bytes_per_task;
  }
}

}  // namespace cf::bench

#endif  // CF_TOOLS_BENCH_THREAD_POOL_MEMORY_H_
