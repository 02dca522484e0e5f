// compose_benchmark — cf's continuations and coroutines next to Boost.Thread's future::then,
// in one process (issue 11).
//
// Scenarios, each as BM_Compose_<Scenario>_<Library>:
//   InlineChain     a chain of 1,000,000 inline continuations built on a pending promise's
//                   future (cf: ThenValue(fn); Boost: then(boost::launch::sync, fn)), then the
//                   promise is set and the last value read. items_per_second = continuations/s;
//                   s_per_continuation = the time per continuation (build, run and free);
//                   build_ns, run_ns and free_ns split it: the loop that attaches the links,
//                   set → last value read, and what is left to free after that (cf frees each
//                   link as it runs; Boost's links are freed with the last future).
//   ShortChain      the same with 1,000 links, on the benchmark thread: the chain stays in the
//                   caches, so this is the cost of a continuation itself. Per continuation.
//   ReadyThen       one inline continuation on a future made ready just before (cf:
//                   MakeReadyFuture(1).ThenValue(fn).Result(); Boost: make_ready_future(1)
//                   .then(launch::sync, fn).get()). Per continuation, the ready future included.
//   FanOut          100,000 continuations on one pending future, each run on a thread pool of 2
//                   workers (cf: f.Then(pool, fn) on copies of one Future; Boost: a
//                   shared_future's then(pool, fn) on a boost::executors::basic_thread_pool),
//                   then the promise is set and every result waited for.
//   CoAwaitReady    (cf only) `co_await f` on a done future, in a cf::Future<int> coroutine:
//                   no suspension. Per await.
//   CoAwaitPending  (cf only) a coroutine awaits 10,000 pending futures in turn; this thread
//                   sets each promise after the coroutine has suspended on it, which resumes
//                   the coroutine inline. Per await (set + resume + suspend on the next one);
//                   the promises are made outside the timed region.
// Boost.Thread has no coroutine support (no awaitable future), so the co_await scenarios have no
// Boost peer.
//
// Boost 1.74 forms, checked: then() without a policy on a promise's future launches each
// continuation with launch::async (a new thread per link), so the inline chain uses
// then(boost::launch::sync, fn). A sync continuation runs inside the completion of the previous
// link, recursively: on a thread with an 8 MiB stack, Boost's 1,000,000-link chain crashes
// (SIGSEGV, checked 2026-11-26; cf's runs). Both libraries' chains therefore run on a thread
// with a 4 GiB stack (reserved, touched only as deep as the recursion goes; cf's trampoline
// keeps its own stack flat). Thread start-up is in the timed region for
// both, about 50 µs against hundreds of milliseconds; cf's chain measured on the benchmark
// thread itself came out the same (316 vs 322 ns per link, 2026-11-26).
//
// After the Google Benchmark output, a summary prints cf's figures and its advantage over Boost
// from this same run. --cf_smoke (CI's smoke run): 1,000-link chains, 1,000-way fan-out,
// 1,000 pending awaits; its figures mean little.
//
//   ./bazelw run --config=opt //tools/bench:compose_benchmark

#define BOOST_THREAD_VERSION 5
#define BOOST_THREAD_PROVIDES_EXECUTORS

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "boost/thread/executors/basic_thread_pool.hpp"
#include "boost/thread/future.hpp"
#include "cf/core/coroutine.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "tools/bench/bench_support.h"

namespace {

constexpr int kWorkers = 2;
constexpr int kChainLength = 1'000'000;
constexpr int kFanOut = 100'000;
constexpr int kPendingAwaits = 10'000;
constexpr int kSmokeSize = 1'000;
constexpr size_t kChainStackBytes = size_t{4} << 30;
constexpr char kSmokeFlag[] = "--cf_smoke";

bool smoke = false;  // --cf_smoke; set in main() before registration

int ChainLength() { return smoke ? kSmokeSize : kChainLength; }
int FanOut() { return smoke ? kSmokeSize : kFanOut; }
int PendingAwaits() { return smoke ? kSmokeSize : kPendingAwaits; }

// Runs fn() on a new thread with a stack of `stack_bytes`, and waits for it.
void RunOnBigStack(size_t stack_bytes, const std::function<void()>& fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t thread;
  auto body = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  if (pthread_create(&thread, &attr, body, const_cast<std::function<void()>*>(&fn)) != 0) {
    std::fprintf(stderr, "pthread_create with a %zu-byte stack failed\n", stack_bytes);
    std::abort();
  }
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

// Nanoseconds spent in each phase of the InlineChain runs, over all iterations.
struct ChainPhases {
  double build_ns = 0;
  double run_ns = 0;
  double free_ns = 0;

  using Clock = std::chrono::steady_clock;
  static double Since(Clock::time_point start) {
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  }
  void Report(benchmark::State& state, int links) const {
    const double total = static_cast<double>(state.iterations()) * links;
    if (total == 0) return;
    state.counters["build_ns"] = build_ns / total;
    state.counters["run_ns"] = run_ns / total;
    state.counters["free_ns"] = free_ns / total;
  }
};

void ReportPerItem(benchmark::State& state, int64_t items_per_iteration, const char* per_item) {
  const int64_t items = state.iterations() * items_per_iteration;
  state.SetItemsProcessed(items);
  state.counters[per_item] = benchmark::Counter(
      static_cast<double>(items), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---- InlineChain ----------------------------------------------------------------------------

void BM_Compose_InlineChain_Cf(benchmark::State& state) {
  const int n = ChainLength();
  ChainPhases phases;
  for (auto _ : state) {
    int last = 0;
    RunOnBigStack(kChainStackBytes, [&] {
      auto start = ChainPhases::Clock::now();
      {
        cf::Promise<int> p;
        cf::Future<int> f = p.GetFuture();
        for (int i = 0; i < n; ++i) f = f.ThenValue([](int v) { return v + 1; });
        phases.build_ns += ChainPhases::Since(start);
        start = ChainPhases::Clock::now();
        p.SetResult(0);
        last = f.Result();
        phases.run_ns += ChainPhases::Since(start);
        start = ChainPhases::Clock::now();
      }
      phases.free_ns += ChainPhases::Since(start);
    });
    if (last != n) state.SkipWithError("cf: wrong value at the end of the chain");
  }
  ReportPerItem(state, n, "s_per_continuation");
  phases.Report(state, n);
}

void BM_Compose_InlineChain_Boost(benchmark::State& state) {
  const int n = ChainLength();
  ChainPhases phases;
  for (auto _ : state) {
    int last = 0;
    RunOnBigStack(kChainStackBytes, [&] {
      auto start = ChainPhases::Clock::now();
      {
        boost::promise<int> p;
        boost::future<int> f = p.get_future();
        for (int i = 0; i < n; ++i) {
          f = f.then(boost::launch::sync, [](boost::future<int> g) { return g.get() + 1; });
        }
        phases.build_ns += ChainPhases::Since(start);
        start = ChainPhases::Clock::now();
        p.set_value(0);
        last = f.get();
        phases.run_ns += ChainPhases::Since(start);
        start = ChainPhases::Clock::now();
      }
      phases.free_ns += ChainPhases::Since(start);
    });
    if (last != n) state.SkipWithError("Boost: wrong value at the end of the chain");
  }
  ReportPerItem(state, n, "s_per_continuation");
  phases.Report(state, n);
}

// ---- ShortChain and ReadyThen ----------------------------------------------------------------

constexpr int kShortChain = 1'000;

void BM_Compose_ShortChain_Cf(benchmark::State& state) {
  for (auto _ : state) {
    cf::Promise<int> p;
    cf::Future<int> f = p.GetFuture();
    for (int i = 0; i < kShortChain; ++i) f = f.ThenValue([](int v) { return v + 1; });
    p.SetResult(0);
    if (f.Result() != kShortChain) state.SkipWithError("cf: wrong value at the end of the chain");
  }
  ReportPerItem(state, kShortChain, "s_per_continuation");
}

void BM_Compose_ShortChain_Boost(benchmark::State& state) {
  for (auto _ : state) {
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    for (int i = 0; i < kShortChain; ++i) {
      f = f.then(boost::launch::sync, [](boost::future<int> g) { return g.get() + 1; });
    }
    p.set_value(0);
    if (f.get() != kShortChain) state.SkipWithError("Boost: wrong value at the end of the chain");
  }
  ReportPerItem(state, kShortChain, "s_per_continuation");
}

void BM_Compose_ReadyThen_Cf(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state) {
    sum += cf::MakeReadyFuture<int>(1).ThenValue([](int v) { return v + 1; }).Result();
  }
  benchmark::DoNotOptimize(sum);
  ReportPerItem(state, 1, "s_per_continuation");
}

void BM_Compose_ReadyThen_Boost(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state) {
    sum += boost::make_ready_future(1)
               .then(boost::launch::sync, [](boost::future<int> g) { return g.get() + 1; })
               .get();
  }
  benchmark::DoNotOptimize(sum);
  ReportPerItem(state, 1, "s_per_continuation");
}

// ---- FanOut ---------------------------------------------------------------------------------

void BM_Compose_FanOut_Cf(benchmark::State& state) {
  const int n = FanOut();
  cf::ThreadPoolExecutor pool(kWorkers);
  std::vector<cf::Future<int>> results;
  results.reserve(n);
  for (auto _ : state) {
    cf::Promise<int> p;
    const cf::Future<int> f = p.GetFuture();
    for (int i = 0; i < n; ++i) {
      results.push_back(f.Then(pool, [i](const cf::Future<int>& g) { return g.Result() + i; }));
    }
    p.SetResult(1);
    long sum = 0;
    for (const cf::Future<int>& r : results) sum += r.Result();
    benchmark::DoNotOptimize(sum);
    results.clear();
  }
  ReportPerItem(state, n, "s_per_continuation");
}

void BM_Compose_FanOut_Boost(benchmark::State& state) {
  const int n = FanOut();
  boost::executors::basic_thread_pool pool(kWorkers);
  std::vector<boost::future<int>> results;
  results.reserve(n);
  for (auto _ : state) {
    boost::promise<int> p;
    boost::shared_future<int> f = p.get_future().share();
    for (int i = 0; i < n; ++i) {
      results.push_back(f.then(pool, [i](boost::shared_future<int> g) { return g.get() + i; }));
    }
    p.set_value(1);
    long sum = 0;
    for (boost::future<int>& r : results) sum += r.get();
    benchmark::DoNotOptimize(sum);
    results.clear();
  }
  ReportPerItem(state, n, "s_per_continuation");
}

// ---- co_await -------------------------------------------------------------------------------

cf::Future<long> AwaitReadyLoop(cf::Future<int> f, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await f;
  co_return sum;
}

void BM_Compose_CoAwaitReady_Cf(benchmark::State& state) {
  constexpr int kAwaitsPerCoroutine = 1'000;
  cf::Promise<int> p;
  p.SetResult(1);
  const cf::Future<int> ready = p.GetFuture();
  for (auto _ : state) {
    cf::Future<long> total = AwaitReadyLoop(ready, kAwaitsPerCoroutine);
    if (total.Result() != kAwaitsPerCoroutine) state.SkipWithError("wrong sum");
  }
  ReportPerItem(state, kAwaitsPerCoroutine, "s_per_await");
}

// Awaits each future in turn; futures must outlive the coroutine.
cf::Future<long> AwaitEach(const std::vector<cf::Future<int>>* futures) {
  long sum = 0;
  for (const cf::Future<int>& f : *futures) sum += co_await f;
  co_return sum;
}

void BM_Compose_CoAwaitPending_Cf(benchmark::State& state) {
  const int n = PendingAwaits();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<cf::Promise<int>> promises(n);
    std::vector<cf::Future<int>> futures;
    futures.reserve(n);
    for (cf::Promise<int>& p : promises) futures.push_back(p.GetFuture());
    state.ResumeTiming();
    // Suspends on futures[0]; each SetResult resumes it here, and it suspends on the next.
    cf::Future<long> total = AwaitEach(&futures);
    for (cf::Promise<int>& p : promises) p.SetResult(1);
    if (total.Result() != n) state.SkipWithError("wrong sum");
    state.PauseTiming();
    promises.clear();
    futures.clear();
    state.ResumeTiming();
  }
  ReportPerItem(state, n, "s_per_await");
}

// ---- Registration and the summary -----------------------------------------------------------

void Register() {
  benchmark::RegisterBenchmark("BM_Compose_InlineChain_Cf", &BM_Compose_InlineChain_Cf)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Compose_InlineChain_Boost", &BM_Compose_InlineChain_Boost)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (auto [name, fn] : {std::pair{"BM_Compose_ShortChain_Cf", &BM_Compose_ShortChain_Cf},
                          std::pair{"BM_Compose_ShortChain_Boost", &BM_Compose_ShortChain_Boost},
                          std::pair{"BM_Compose_ReadyThen_Cf", &BM_Compose_ReadyThen_Cf},
                          std::pair{"BM_Compose_ReadyThen_Boost", &BM_Compose_ReadyThen_Boost}}) {
    benchmark::RegisterBenchmark(name, fn)->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_Compose_FanOut_Cf", &BM_Compose_FanOut_Cf)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Compose_FanOut_Boost", &BM_Compose_FanOut_Boost)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Compose_CoAwaitReady_Cf", &BM_Compose_CoAwaitReady_Cf)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Compose_CoAwaitPending_Cf", &BM_Compose_CoAwaitPending_Cf)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// cf's time per item and its advantage over Boost.Thread, from this run.
void PrintSummary(const cf::bench::MedianReporter& reporter) {
  std::printf("\nSummary (this run; medians when repeated; cf x = cf's advantage, > 1 is "
              "better)\n");
  std::printf("%-16s %22s %22s %10s\n", "scenario", "cf (ns each)", "Boost.Thread (ns each)",
              "cf x");
  for (const char* s :
       {"InlineChain", "ShortChain", "ReadyThen", "FanOut", "CoAwaitReady", "CoAwaitPending"}) {
    const double cf =
        reporter.Counter(std::string("BM_Compose_") + s + "_Cf", "items_per_second");
    const double boost =
        reporter.Counter(std::string("BM_Compose_") + s + "_Boost", "items_per_second");
    const std::string cf_s = cf > 0 ? absl::StrFormat("%.1f", 1e9 / cf) : "-";
    const std::string boost_s = boost > 0 ? absl::StrFormat("%.1f", 1e9 / boost) : "-";
    const std::string x = cf > 0 && boost > 0 ? absl::StrFormat("%.1fx", cf / boost) : "-";
    std::printf("%-16s %22s %22s %10s\n", s, cf_s.c_str(), boost_s.c_str(), x.c_str());
  }
  std::printf("(Boost.Thread has no coroutine support: no peer for the co_await rows.)\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  // --cf_smoke is this binary's own flag: take it out before Google Benchmark reads the rest.
  smoke = cf::bench::TakeFlag(args, kSmokeFlag);
  Register();
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
  cf::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter);
  benchmark::Shutdown();
  return 0;
}
