// Google Benchmark suite for cf::MpiPoolExecutor (issue 15), next to cf::ProcessPoolExecutor in
// the same binary and mpi4py.futures' MPIPoolExecutor (mpi_python.py) in the same run
// (tools/bench/mpi_compare runs all three). Run under `mpirun -np 3`: rank 0 runs the
// benchmarks; ranks 1 and 2 are the MPI executor's workers.
//
//   BM_Mpi_SubmitNoop          no-op Submit throughput, one call per task, 2 worker ranks
//   BM_Mpi_MapChunked          Map(chunksize=1000) over 1M ints, 2 worker ranks
//   BM_ProcessPool_SubmitNoop  the same through a ProcessPoolExecutor of 2 workers (kFork)
//   BM_ProcessPool_MapChunked  the same through a ProcessPoolExecutor of 2 workers (kFork)
#include <cstdint>
#include <numeric>
#include <vector>

#include "benchmark/benchmark.h"
#include "cf/mpi/mpi_pool_executor.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/task.h"

namespace cf {
namespace {

int Noop(int x) { return x; }

constexpr int kTasks = 20'000;
constexpr int kItems = 1'000'000;

template <typename Pool>
void SubmitNoop(benchmark::State& state, Pool& pool) {
  pool.Submit(&Noop, 0).Result();
  for (auto _ : state) {
    std::vector<Future<int>> futures;
    futures.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i) futures.push_back(pool.Submit(&Noop, i));
    for (auto& f : futures) benchmark::DoNotOptimize(f.Result());
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}

template <typename Pool>
void MapChunked(benchmark::State& state, Pool& pool) {
  pool.Submit(&Noop, 0).Result();
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (int r : pool.Map(&Noop, inputs, {.chunksize = 1000})) sum += r;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

void BM_Mpi_SubmitNoop(benchmark::State& state) {
  MpiPoolExecutor pool({.max_workers = 2});
  SubmitNoop(state, pool);
}
BENCHMARK(BM_Mpi_SubmitNoop)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Mpi_MapChunked(benchmark::State& state) {
  MpiPoolExecutor pool({.max_workers = 2});
  MapChunked(state, pool);
}
BENCHMARK(BM_Mpi_MapChunked)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_SubmitNoop(benchmark::State& state) {
  ProcessPoolExecutor pool({.max_workers = 2, .start_method = StartMethod::kFork});
  SubmitNoop(state, pool);
}
BENCHMARK(BM_ProcessPool_SubmitNoop)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_MapChunked(benchmark::State& state) {
  ProcessPoolExecutor pool({.max_workers = 2, .start_method = StartMethod::kFork});
  MapChunked(state, pool);
}
BENCHMARK(BM_ProcessPool_MapChunked)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cf

CF_TASK(cf::Noop);

int main(int argc, char** argv) {
  cf::InitMpiPool(&argc, &argv);  // ranks 1..N-1 serve here and exit
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
