// thread_pool_benchmark — cf::ThreadPoolExecutor side by side with its C++ peers, in one process.
//
// Peers: Boost.Asio thread_pool + use_future (std::future), boost::executors::basic_thread_pool +
// boost::async (boost::future), std::async(std::launch::async) (a thread per call), and oneTBB
// task_group in a task_arena (no futures at all: a lower bound for queueing cost).
//
// Scenarios (issue 3), each as BM_<Library>_<Scenario>:
//   Submit200kNoop      submit 200,000 no-op calls, then wait for every future; 2 workers.
//                       std::async runs 20,000 per iteration (it starts a thread per call and
//                       would take ~10 s for 200k); every figure is per task.
//   SubmitResultLatency submit one no-op call and wait for its result, over and over; reports
//                       the p50 and p99 of that round trip (microseconds). 2 workers.
//   SumOfSquares/<w>    16 CPU-bound calls (a sum of squares over 4M integers each) on w = 1 or 2
//                       workers; the summary shows the speedup time(1) / time(2).
//   MemoryPerPendingTask  both workers blocked on a gate, 1,000,000 no-op calls queued behind
//                       it; reports the growth of resident memory (RSS) and of malloc's bytes in
//                       use, per queued call: the task and the shared state behind the future
//                       it returns (the vector holding the handles is allocated and touched
//                       before the baseline). Measured in a fresh child process per library.
//
// By default every benchmark runs 5 times, the repetitions of all libraries shuffled together
// (--benchmark_enable_random_interleaving), and the console shows medians: the 2-core VM has
// slow and fast phases that would otherwise favour whichever library ran in a fast one. After
// the Google Benchmark output, a summary table prints cf's medians and its ratio to each peer
// from this same run. tools/bench/thread_pool_python.py runs the same scenarios with
// Python's ThreadPoolExecutor and, given this binary's JSON output, prints cf/Python ratios.
//
//   ./bazelw run --config=opt //tools/bench:thread_pool_benchmark --
//       --benchmark_out=/tmp/tp.json --benchmark_out_format=json   (one command)
//   python3 tools/bench/thread_pool_python.py --cf-json /tmp/tp.json
//
// A --benchmark_min_time on the command line replaces the benchmarks' own minimum times. With
// --cf_smoke (CI's smoke run) every benchmark runs once and briefly: one repetition, at most
// 1,000 latency rounds, 10,000 pending calls in the memory probes. Its figures mean little; it
// keeps every benchmark building and running.

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tools/bench/bench_support.h"
#include "tools/bench/thread_pool_memory.h"
#include "tools/bench/thread_pool_peers.h"

namespace cf::bench {
namespace {

// ---- Scenarios ------------------------------------------------------------------------------

template <typename Lib>
void BM_Submit200kNoop(benchmark::State& state) {
  const int tasks = std::is_same_v<Lib, StdAsync> ? kStdAsyncTasks : kNoopTasks;
  Lib lib(kWorkers);
  using Fut = decltype(lib.Submit(&Noop));
  std::vector<Fut> futures;
  futures.reserve(tasks);
  for (auto _ : state) {
    for (int i = 0; i < tasks; ++i) futures.push_back(lib.Submit(&Noop));
    for (Fut& f : futures) Lib::Get(f);
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}

void BM_Tbb_Submit200kNoop(benchmark::State& state) {
  Tbb tbb(kWorkers);
  for (auto _ : state) {
    for (int i = 0; i < kNoopTasks; ++i) tbb.Run(&Noop);
    tbb.WaitAll();
  }
  state.SetItemsProcessed(state.iterations() * kNoopTasks);
}

void ReportPercentiles(benchmark::State& state, std::vector<double>& samples_us) {
  if (samples_us.empty()) return;
  std::sort(samples_us.begin(), samples_us.end());
  auto at = [&](double q) {
    return samples_us[std::min(samples_us.size() - 1, static_cast<size_t>(q * samples_us.size()))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p90_us"] = at(0.90);
  state.counters["p99_us"] = at(0.99);
}

template <typename Lib>
void BM_SubmitResultLatency(benchmark::State& state) {
  Lib lib(kWorkers);
  std::vector<double> samples_us;
  samples_us.reserve(1 << 20);
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    auto f = lib.Submit(&Noop);
    Lib::Get(f);
    samples_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  ReportPercentiles(state, samples_us);
}

void BM_Tbb_SubmitResultLatency(benchmark::State& state) {
  Tbb tbb(kWorkers);
  std::vector<double> samples_us;
  samples_us.reserve(1 << 20);
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    tbb.Run(&Noop);
    tbb.WaitAll();
    samples_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  ReportPercentiles(state, samples_us);
}

template <typename Lib>
void BM_SumOfSquares(benchmark::State& state) {
  Lib lib(static_cast<int>(state.range(0)));
  auto task = [] { return SumOfSquares(kSquaresPerTask); };
  using Fut = decltype(lib.Submit(task));
  std::vector<Fut> futures;
  for (auto _ : state) {
    for (int i = 0; i < kCpuTasks; ++i) futures.push_back(lib.Submit(task));
    for (Fut& f : futures) Lib::Get(f);
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}

void BM_Tbb_SumOfSquares(benchmark::State& state) {
  Tbb tbb(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (int i = 0; i < kCpuTasks; ++i) tbb.Run([] { SumOfSquares(kSquaresPerTask); });
    tbb.WaitAll();
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}

// ---- Registration and the summary -----------------------------------------------------------

// The benchmark's own minimum time, unless the command line gave one.
benchmark::internal::Benchmark* WithMinTime(benchmark::internal::Benchmark* b, double seconds) {
  return run_settings.command_line_min_time ? b : b->MinTime(seconds);
}

template <typename Lib>
void RegisterFor() {
  const std::string lib = Lib::kName;
  WithMinTime(benchmark::RegisterBenchmark(("BM_" + lib + "_Submit200kNoop").c_str(),
                                           &BM_Submit200kNoop<Lib>),
              std::is_same_v<Lib, StdAsync> ? 0.1 : 1.0)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("BM_" + lib + "_SubmitResultLatency").c_str(),
                               &BM_SubmitResultLatency<Lib>)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(LatencyRounds(std::is_same_v<Lib, StdAsync> ? 2'000 : 50'000));
  if (!std::is_same_v<Lib, StdAsync>) {
    WithMinTime(benchmark::RegisterBenchmark(("BM_" + lib + "_SumOfSquares").c_str(),
                                             &BM_SumOfSquares<Lib>),
                1.0)
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_" + lib + "_MemoryPerPendingTask").c_str(),
                                 &BM_MemoryPerPendingTask<Lib>)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(1);
  }
}

void RegisterTbb() {
  WithMinTime(benchmark::RegisterBenchmark("BM_Tbb_Submit200kNoop", &BM_Tbb_Submit200kNoop), 1.0)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Tbb_SubmitResultLatency", &BM_Tbb_SubmitResultLatency)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(LatencyRounds(50'000));
  WithMinTime(benchmark::RegisterBenchmark("BM_Tbb_SumOfSquares", &BM_Tbb_SumOfSquares), 1.0)
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Tbb_MemoryPerPendingTask", &BM_MemoryPerPendingTask<Tbb>)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->Repetitions(1);
}

// cf's medians and its ratio to each peer, from this run.
void PrintSummary(const MedianReporter& reporter) {
  const char* libs[] = {"Cf", "Asio", "BoostExecutors", "StdAsync", "Tbb"};
  std::printf(
      "\nSummary (this run, medians over the repetitions; ratio = cf's advantage over the "
      "peer, > 1 is better)\n");
  std::printf("%-16s %18s %18s %18s %18s\n", "library", "no-op tasks/s", "latency p50/p99 us",
              "CPU speedup 2w/1w", "bytes/pending task");
  const double cf_rate = reporter.Counter("BM_Cf_Submit200kNoop", "items_per_second");
  const double cf_p50 = reporter.Counter("BM_Cf_SubmitResultLatency", "p50_us");
  for (const char* lib : libs) {
    const std::string l = lib;
    const MedianReporter::Figures* noop = reporter.Find("BM_" + l + "_Submit200kNoop");
    const MedianReporter::Figures* lat = reporter.Find("BM_" + l + "_SubmitResultLatency");
    const MedianReporter::Figures* cpu1 = reporter.Find("BM_" + l + "_SumOfSquares/1");
    const MedianReporter::Figures* cpu2 = reporter.Find("BM_" + l + "_SumOfSquares/2");
    const MedianReporter::Figures* mem = reporter.Find("BM_" + l + "_MemoryPerPendingTask");
    std::string noop_s = "-", lat_s = "-", cpu_s = "-", mem_s = "-";
    if (noop != nullptr) {
      const double rate = noop->counters.at("items_per_second");
      noop_s = absl::StrFormat("%.2fM", rate / 1e6);
      if (cf_rate > 0 && l != "Cf") noop_s += absl::StrFormat(" (%.1fx)", cf_rate / rate);
    }
    if (lat != nullptr && lat->counters.count("p50_us") != 0) {
      lat_s = absl::StrFormat("%.1f/%.1f", lat->counters.at("p50_us"), lat->counters.at("p99_us"));
      if (cf_p50 > 0 && l != "Cf") {
        lat_s += absl::StrFormat(" (%.1fx)", lat->counters.at("p50_us") / cf_p50);
      }
    }
    if (cpu1 != nullptr && cpu2 != nullptr) {
      cpu_s = absl::StrFormat("%.2fx", cpu1->real_time_ns / cpu2->real_time_ns);
    }
    if (mem != nullptr) {
      mem_s = absl::StrFormat("%.0f rss, %.0f heap", mem->counters.at("rss_bytes_per_task"),
                              mem->counters.at("heap_bytes_per_task"));
    }
    std::printf("%-16s %18s %18s %18s %18s\n", lib, noop_s.c_str(), lat_s.c_str(), cpu_s.c_str(),
                mem_s.c_str());
  }
  std::printf(
      "(Tbb: task_group without futures; its latency is a run+wait in which the caller may run "
      "the task itself. StdAsync: a thread per call, 20k calls per iteration.)\n");
}

// Unless the command line says otherwise: 5 repetitions of every benchmark (1 in a smoke run)
// in random order (so a slow phase of the shared machine hits every library alike), medians on
// the console.
std::vector<char*> WithDefaultFlags(std::vector<char*> args) {
  static char repetitions[] = "--benchmark_repetitions=5";
  static char smoke_repetitions[] = "--benchmark_repetitions=1";
  static char interleaving[] = "--benchmark_enable_random_interleaving=true";
  static char aggregates_only[] = "--benchmark_display_aggregates_only=true";
  const std::pair<const char*, char*> defaults[] = {
      {"--benchmark_repetitions", run_settings.smoke ? smoke_repetitions : repetitions},
      {"--benchmark_enable_random_interleaving", interleaving},
      {"--benchmark_display_aggregates_only", aggregates_only},
  };
  for (const auto& [flag, setting] : defaults) {
    if (!HasFlag(args, flag)) args.push_back(setting);
  }
  return args;
}

}  // namespace
}  // namespace cf::bench

int main(int argc, char** argv) {
  using namespace cf::bench;  // NOLINT: this file's main
  constexpr char kProbeFlag[] = "--cf_memory_probe=";
  std::vector<char*> args(argv, argv + argc);
  // --cf_smoke is this binary's own flag: take it out before Google Benchmark reads the rest.
  run_settings.smoke = TakeFlag(args, kSmokeFlag);
  if (args.size() == 2 && std::string(args[1]).rfind(kProbeFlag, 0) == 0) {
    return MemoryProbeMain(std::string(args[1]).substr(sizeof(kProbeFlag) - 1));
  }
  run_settings.command_line_min_time = HasFlag(args, "--benchmark_min_time");
  RegisterFor<Cf>();
  RegisterFor<Asio>();
  RegisterFor<BoostExecutors>();
  RegisterFor<StdAsync>();
  RegisterTbb();
  args = WithDefaultFlags(std::move(args));
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
  MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter);
  benchmark::Shutdown();
  return 0;
}
