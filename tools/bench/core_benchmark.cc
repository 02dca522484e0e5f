// Google Benchmark suite for the future/promise core (//core:future, //core:wait).
//
//   BM_Future_SetResultThenResult   promise → SetResult → Result, one thread
//   BM_Future_HandOffAcrossThreads  another thread completes, this one takes each Result
//   BM_AsCompleted_100k             AsCompleted over 100k futures completed by another thread
//   BM_AddDoneCallback_Pending      register a callback, then complete (callback runs)
//   BM_AddDoneCallback_AlreadyDone  register on a finished future (callback runs at once)
//   BM_Wait_FirstCompleted          Wait(kFirstCompleted) on 64 futures, one completed later
//
// Python's as_completed over 100k futures (tools/bench/core_python.py) is the reference for
// BM_AsCompleted_100k: about 290k futures/s on the 2-core development machine.
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "benchmark/benchmark.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"

namespace cf {
namespace {

void BM_Future_SetResultThenResult(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    Promise<int> p;
    Future<int> f = p.GetFuture();
    p.SetResult(++i);
    benchmark::DoNotOptimize(f.Result());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Future_SetResultThenResult);

void BM_Future_HandOffAcrossThreads(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<Promise<int>> promises(n);
    std::vector<Future<int>> futures;
    futures.reserve(n);
    for (auto& p : promises) futures.push_back(p.GetFuture());
    std::thread producer([&] {
      for (int i = 0; i < n; ++i) promises[i].SetResult(i);
    });
    long sum = 0;
    for (const Future<int>& f : futures) sum += f.Result();
    producer.join();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Future_HandOffAcrossThreads)->Arg(10'000)->UseRealTime();

void BM_AsCompleted_100k(benchmark::State& state) {
  constexpr int kN = 100'000;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Promise<int>> promises(kN);
    std::vector<Future<int>> futures;
    futures.reserve(kN);
    for (auto& p : promises) futures.push_back(p.GetFuture());
    state.ResumeTiming();
    absl::Notification go;
    std::thread producer([&] {
      go.WaitForNotification();
      for (auto& p : promises) p.SetResult(1);
    });
    long count = 0;
    auto completed = AsCompleted(futures);
    go.Notify();
    for (const Future<int>& f : completed) count += f.Result();
    producer.join();
    benchmark::DoNotOptimize(count);
  }
  state.SetItemsProcessed(state.iterations() * kN);
}
BENCHMARK(BM_AsCompleted_100k)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_AddDoneCallback_Pending(benchmark::State& state) {
  long calls = 0;
  for (auto _ : state) {
    Promise<int> p;
    p.GetFuture().AddDoneCallback([&calls](const Future<int>&) { ++calls; });
    p.SetResult(1);
  }
  benchmark::DoNotOptimize(calls);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddDoneCallback_Pending);

void BM_AddDoneCallback_AlreadyDone(benchmark::State& state) {
  Future<int> f = MakeReadyFuture<int>(1);
  long calls = 0;
  for (auto _ : state) {
    f.AddDoneCallback([&calls](const Future<int>&) { ++calls; });
  }
  benchmark::DoNotOptimize(calls);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddDoneCallback_AlreadyDone);

void BM_Wait_FirstCompleted(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<Promise<int>> promises(64);
    std::vector<Future<int>> futures;
    for (auto& p : promises) futures.push_back(p.GetFuture());
    std::thread producer([&] { promises[37].SetResult(1); });
    auto result = Wait(futures, absl::InfiniteDuration(), ReturnWhen::kFirstCompleted);
    producer.join();
    benchmark::DoNotOptimize(result.done.size());
    for (auto& p : promises) p.TrySetResult(0);
  }
}
BENCHMARK(BM_Wait_FirstCompleted)->UseRealTime();

}  // namespace
}  // namespace cf

BENCHMARK_MAIN();
