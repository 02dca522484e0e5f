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

#define BOOST_THREAD_VERSION 5
#define BOOST_THREAD_PROVIDES_EXECUTORS

#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/asio/use_future.hpp"
#include "boost/thread/executors/basic_thread_pool.hpp"
#include "boost/thread/future.hpp"
#include "cf/thread_pool/thread_pool_executor.h"
#include "oneapi/tbb/task_arena.h"
#include "oneapi/tbb/task_group.h"

namespace {

constexpr int kWorkers = 2;
constexpr int kNoopTasks = 200'000;
constexpr int kStdAsyncTasks = 20'000;
constexpr int kCpuTasks = 16;
constexpr uint64_t kSquaresPerTask = 4'000'000;
constexpr int kPendingTasks = 1'000'000;
constexpr int kSmokePendingTasks = 10'000;
constexpr int kSmokeLatencyRounds = 1'000;
constexpr char kSmokeFlag[] = "--cf_smoke";

// Set once in main(), before any benchmark is registered or memory probe runs.
struct RunSettings {
  bool smoke = false;                  // --cf_smoke
  bool command_line_min_time = false;  // --benchmark_min_time given: it replaces ours
};
RunSettings run_settings;

int PendingTasks() { return run_settings.smoke ? kSmokePendingTasks : kPendingTasks; }
int LatencyRounds(int rounds) {
  return run_settings.smoke ? std::min(rounds, kSmokeLatencyRounds) : rounds;
}

void Noop() {}

uint64_t SumOfSquares(uint64_t n) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    sum += i * i;
    benchmark::DoNotOptimize(sum);  // keep the loop: no closed form, no vectorization
  }
  return sum;
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total_pages = 0;
  size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t HeapBytesInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// ---- The libraries, behind one shape: Submit(fn) -> a future; Get(future) waits for it. ------

class Cf {
 public:
  static constexpr char kName[] = "Cf";
  explicit Cf(int workers) : pool_(workers) {}
  template <typename F>
  auto Submit(F fn) {
    return pool_.Submit(std::move(fn));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.Result();
  }

 private:
  cf::ThreadPoolExecutor pool_;
};

class Asio {
 public:
  static constexpr char kName[] = "Asio";
  explicit Asio(int workers) : pool_(workers) {}
  ~Asio() { pool_.join(); }
  template <typename F>
  auto Submit(F fn) {
    return boost::asio::post(pool_, boost::asio::use_future(std::move(fn)));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.get();
  }

 private:
  boost::asio::thread_pool pool_;
};

class BoostExecutors {
 public:
  static constexpr char kName[] = "BoostExecutors";
  explicit BoostExecutors(int workers) : pool_(workers) {}
  template <typename F>
  auto Submit(F fn) {
    return boost::async(pool_, std::move(fn));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.get();
  }

 private:
  boost::executors::basic_thread_pool pool_;
};

class StdAsync {
 public:
  static constexpr char kName[] = "StdAsync";
  explicit StdAsync(int /*workers: a thread per call*/) {}
  template <typename F>
  auto Submit(F fn) {
    return std::async(std::launch::async, std::move(fn));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.get();
  }
};

// oneTBB has no futures: a task_group in an arena of `workers` threads (the caller takes one
// slot while it waits). Submit returns nothing; WaitAll waits for the group.
class Tbb {
 public:
  static constexpr char kName[] = "Tbb";
  explicit Tbb(int workers) : arena_(workers) {}
  template <typename F>
  void Run(F fn) {
    arena_.execute([&] { group_.run(std::move(fn)); });
  }
  void WaitAll() {
    arena_.execute([&] { group_.wait(); });
  }

 private:
  tbb::task_arena arena_;
  tbb::task_group group_;
};

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

// The memory scenario runs in a fresh copy of this binary (--cf_memory_probe=<library>), so
// that memory freed by earlier benchmarks, kept by the allocators, does not hide the growth.
struct MemoryFigures {
  double rss_bytes_per_task = 0;
  double heap_bytes_per_task = 0;
};

MemoryFigures Measure(size_t rss_before, size_t heap_before) {
  const size_t rss_after = ResidentBytes();
  const size_t heap_after = HeapBytesInUse();
  return {
      .rss_bytes_per_task =
          static_cast<double>(rss_after - std::min(rss_after, rss_before)) / PendingTasks(),
      .heap_bytes_per_task =
          static_cast<double>(heap_after - std::min(heap_after, heap_before)) / PendingTasks(),
  };
}

// Both workers blocked on a gate, then 1M no-op calls queued behind it. The vector holding the
// futures is allocated and touched before the baseline: what grows is the per-task cost (the
// task and the shared state behind its future).
template <typename Lib>
MemoryFigures ProbeMemory() {
  Lib lib(kWorkers);
  absl::Notification gate;
  absl::BlockingCounter blocked(kWorkers);
  auto block = [&] {
    blocked.DecrementCount();
    gate.WaitForNotification();
  };
  using GateFut = decltype(lib.Submit(block));
  std::vector<GateFut> gates;
  for (int i = 0; i < kWorkers; ++i) gates.push_back(lib.Submit(block));
  blocked.Wait();
  using Fut = decltype(lib.Submit(&Noop));
  std::vector<Fut> futures(PendingTasks());
  malloc_trim(0);
  const size_t rss_before = ResidentBytes();
  const size_t heap_before = HeapBytesInUse();
  for (int i = 0; i < PendingTasks(); ++i) futures[i] = lib.Submit(&Noop);
  const MemoryFigures figures = Measure(rss_before, heap_before);
  gate.Notify();
  for (GateFut& f : gates) Lib::Get(f);
  for (Fut& f : futures) Lib::Get(f);
  return figures;
}

// oneTBB: one worker thread in the arena (the caller submits), no futures.
template <>
MemoryFigures ProbeMemory<Tbb>() {
  Tbb tbb(kWorkers);
  absl::Notification gate;
  absl::BlockingCounter blocked(1);
  tbb.Run([&] {
    blocked.DecrementCount();
    gate.WaitForNotification();
  });
  blocked.Wait();
  malloc_trim(0);
  const size_t rss_before = ResidentBytes();
  const size_t heap_before = HeapBytesInUse();
  for (int i = 0; i < PendingTasks(); ++i) tbb.Run(&Noop);
  const MemoryFigures figures = Measure(rss_before, heap_before);
  gate.Notify();
  tbb.WaitAll();
  return figures;
}

// Runs `<this binary> --cf_memory_probe=<library> [--cf_smoke]` and reads the two figures it
// prints.
bool RunMemoryProbe(const std::string& library, MemoryFigures& out, std::string& error) {
  int fds[2];
  if (pipe(fds) != 0) {
    error = "pipe failed";
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const std::string flag = "--cf_memory_probe=" + library;
  char exe[] = "/proc/self/exe";
  char* child_argv[] = {exe, const_cast<char*>(flag.c_str()),
                        run_settings.smoke ? const_cast<char*>(kSmokeFlag) : nullptr, nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, exe, &actions, nullptr, child_argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string output;
  char buffer[256];
  ssize_t n = 0;
  while (spawned == 0 && (n = read(fds[0], buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  close(fds[0]);
  int status = 0;
  if (spawned != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0 ||
      std::sscanf(output.c_str(), "rss=%lf heap=%lf", &out.rss_bytes_per_task,
                  &out.heap_bytes_per_task) != 2) {
    error = "memory probe for " + library + " failed: " + output;
    return false;
  }
  return true;
}

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

// The child side of RunMemoryProbe; returns the process exit code.
int MemoryProbeMain(const std::string& library) {
  MemoryFigures f;
  if (library == Cf::kName) {
    f = ProbeMemory<Cf>();
  } else if (library == Asio::kName) {
    f = ProbeMemory<Asio>();
  } else if (library == BoostExecutors::kName) {
    f = ProbeMemory<BoostExecutors>();
  } else if (library == Tbb::kName) {
    f = ProbeMemory<Tbb>();
  } else {
    std::fprintf(stderr, "unknown library %s\n", library.c_str());
    return 2;
  }
  std::printf("rss=%.3f heap=%.3f\n", f.rss_bytes_per_task, f.heap_bytes_per_task);
  return 0;
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

// Prints the usual console output and remembers each run for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  struct Figures {
    double real_time_ns = 0;
    std::map<std::string, double> counters;
    bool from_median = false;
  };

  static double TimeUnitNanoseconds(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond:
        return 1;
      case benchmark::kMicrosecond:
        return 1e3;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kSecond:
        return 1e9;
    }
    return 1;
  }

  // Keeps, per benchmark, the median over repetitions when there are several, else the run.
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type != Run::RT_Iteration && !median) continue;
      Figures& f = figures_[run.run_name.str()];
      if (f.from_median && !median) continue;
      f.from_median = median;
      f.real_time_ns = run.GetAdjustedRealTime() * TimeUnitNanoseconds(run.time_unit);
      for (const auto& [name, counter] : run.counters) f.counters[name] = counter.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // "BM_Cf_Submit200kNoop" without the /real_time etc. suffixes.
  const Figures* Find(const std::string& prefix) const {
    for (const auto& [name, figures] : figures_) {
      if (name == prefix || name.rfind(prefix + "/", 0) == 0) return &figures;
    }
    return nullptr;
  }

  void PrintSummary() const {
    const char* libs[] = {"Cf", "Asio", "BoostExecutors", "StdAsync", "Tbb"};
    std::printf(
        "\nSummary (this run, medians over the repetitions; ratio = cf's advantage over the "
        "peer, > 1 is better)\n");
    std::printf("%-16s %18s %18s %18s %18s\n", "library", "no-op tasks/s", "latency p50/p99 us",
                "CPU speedup 2w/1w", "bytes/pending task");
    const Figures* cf_noop = Find("BM_Cf_Submit200kNoop");
    const Figures* cf_lat = Find("BM_Cf_SubmitResultLatency");
    for (const char* lib : libs) {
      const std::string l = lib;
      const Figures* noop = Find("BM_" + l + "_Submit200kNoop");
      const Figures* lat = Find("BM_" + l + "_SubmitResultLatency");
      const Figures* cpu1 = Find("BM_" + l + "_SumOfSquares/1");
      const Figures* cpu2 = Find("BM_" + l + "_SumOfSquares/2");
      const Figures* mem = Find("BM_" + l + "_MemoryPerPendingTask");
      std::string noop_s = "-", lat_s = "-", cpu_s = "-", mem_s = "-";
      if (noop != nullptr) {
        const double rate = noop->counters.at("items_per_second");
        noop_s = absl::StrFormat("%.2fM", rate / 1e6);
        if (cf_noop != nullptr && l != "Cf") {
          noop_s += absl::StrFormat(" (%.1fx)", cf_noop->counters.at("items_per_second") / rate);
        }
      }
      if (lat != nullptr && lat->counters.count("p50_us") != 0) {
        lat_s =
            absl::StrFormat("%.1f/%.1f", lat->counters.at("p50_us"), lat->counters.at("p99_us"));
        if (cf_lat != nullptr && l != "Cf") {
          lat_s += absl::StrFormat(" (%.1fx)",
                                   lat->counters.at("p50_us") / cf_lat->counters.at("p50_us"));
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

 private:
  std::map<std::string, Figures> figures_;
};

}  // namespace

// Whether args (after the program name) hold `flag`, alone or as `flag=value`.
bool HasFlag(const std::vector<char*>& args, const std::string& flag) {
  return std::any_of(args.begin() + 1, args.end(), [&flag](const char* a) {
    const std::string arg = a;
    return arg == flag || arg.rfind(flag + "=", 0) == 0;
  });
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

int main(int argc, char** argv) {
  constexpr char kProbeFlag[] = "--cf_memory_probe=";
  std::vector<char*> args(argv, argv + argc);
  // --cf_smoke is this binary's own flag: take it out before Google Benchmark reads the rest.
  const auto smoke_end = std::remove_if(args.begin() + 1, args.end(),
                                        [](const char* a) { return std::string(a) == kSmokeFlag; });
  run_settings.smoke = smoke_end != args.end();
  args.erase(smoke_end, args.end());
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
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
