// The tour's second part: ProcessPoolExecutor — which worker ran what, a broken pool, Map's
// chunksize, CPU-bound work on threads vs processes, and the tutorials' prime checker.
//
// A process pool sends a function's name, not its code: every task below is a free function
// registered with CF_TASK, and the tour's main() calls cf::InitProcessPool so that this very
// program can be started as a worker.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "cf/futures.h"
#include "cf/tools/prime_check.h"
#include "tools/tour/tour.h"

namespace cf::tour {

// The tasks (namespace-scope functions, so that CF_TASK can name them).
std::pair<int, int> TaskAndPid(int n) { return {n, static_cast<int>(getpid())}; }
int GetPid() { return static_cast<int>(getpid()); }
int SleepThenReturn(int millis) {
  absl::SleepFor(absl::Milliseconds(millis));
  return millis;
}
int64_t Square(int64_t x) { return x * x; }
// The tutorials' sum(i * i for i in range(n)).
int64_t SumOfSquares(int64_t n) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) total += i * i;
  return total;
}
// The same work made opaque to the optimiser (a compiler may turn the plain sum into a formula),
// for timing: the sum of squares modulo a prime.
int64_t SumOfSquaresModP(int64_t n) {
  constexpr int64_t kP = 1'000'000'007;
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) total = (total + (i % kP) * (i % kP)) % kP;
  return total;
}

}  // namespace cf::tour

CF_TASK(cf::tour::TaskAndPid);
CF_TASK(cf::tour::GetPid);
CF_TASK(cf::tour::SleepThenReturn);
CF_TASK(cf::tour::Square);
CF_TASK(cf::tour::SumOfSquares);
CF_TASK(cf::tour::SumOfSquaresModP);

namespace cf::tour {
namespace {

// Waits (bounded) until pred() holds, looking every millisecond: for watching another process.
template <typename Pred>
void AwaitCondition(Pred pred, absl::string_view what) {
  const absl::Time deadline = absl::Now() + kBound;
  while (!pred()) {
    Check(absl::Now() < deadline, what);
    absl::SleepFor(absl::Milliseconds(1));
  }
}

int CpusToUse() {
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
}

// seed 003 (PyMOTW): "Process Pools"; seed 001: "ProcessPoolExecutor: For CPU-Bound Tasks".
void ProcessMap() {
  ProcessPoolExecutor pool(2);
  std::vector<int> pids_seen;
  for (auto [task, pid] : pool.Map(&TaskAndPid, std::vector<int>{5, 4, 3, 2, 1})) {
    Say("ran task %d in process %d", task, pid);
    pids_seen.push_back(pid);
  }
  Say("(this program is process %d; the pool's workers: %s)", getpid(),
      absl::StrJoin(pool.worker_pids(), ", "));
  Check(std::find(pids_seen.begin(), pids_seen.end(), getpid()) == pids_seen.end(),
        "tasks ran in other processes");

  std::vector<int64_t> numbers = {100000, 200000, 150000, 300000};
  std::vector<int64_t> results;
  for (int64_t r : pool.Map(&SumOfSquares, numbers)) results.push_back(r);
  Say("sum of squares below %s: %s", absl::StrJoin(numbers, ", "), absl::StrJoin(results, ", "));
  Check(results[0] == 333328333350000, "sum of squares below 100000");
  Notice("worker processes are reused for many tasks; a task is a CF_TASK-registered function "
         "whose arguments and result travel as bytes (cereal) over pipes.");
}

// seed 003 (PyMOTW): "Process Pools" — a worker that dies breaks the pool.
void ProcessBroken() {
  ProcessPoolExecutor pool(1);
  Say("getting the pid for one worker");
  const int idle_pid = pool.Submit(&GetPid).Result(kBound);
  Say("killing idle process %d", idle_pid);
  kill(idle_pid, SIGKILL);
  AwaitCondition(
      [&] {
        std::vector<pid_t> pids = pool.worker_pids();
        return std::find(pids.begin(), pids.end(), idle_pid) == pids.end();
      },
      "the pool noticed the idle worker's death");
  const int replacement = pool.Submit(&GetPid).Result(kBound);
  Say("nothing was pending, so cf replaced it: the next task ran in process %d", replacement);

  Future<int> running = pool.Submit(&SleepThenReturn, 60'000);
  AwaitCondition([&] { return running.Running(); }, "the task started");
  Say("killing process %d while it runs a task", replacement);
  kill(replacement, SIGKILL);
  try {
    running.Result(kBound);
    Check(false, "the running task's future should fail");
  } catch (const BrokenProcessPool& e) {
    Say("the running task's future: cf::BrokenProcessPool: %s", e.what());
  }
  Say("submitting another task");
  try {
    pool.Submit(&GetPid);
    Check(false, "Submit on a broken pool should throw");
  } catch (const BrokenProcessPool& e) {
    Say("could not start new tasks: %s", e.what());
  }
  Notice("a worker killed with work pending breaks the pool: every pending future fails with "
         "BrokenProcessPool naming the pid and signal, and Submit refuses new work. Unlike "
         "CPython, a worker that dies idle is simply replaced.");
}

// seed 000: "Map with Chunking".
void MapChunksize() {
  std::vector<int64_t> items(20000);
  std::iota(items.begin(), items.end(), 0);
  int64_t expected = 0;
  for (int64_t x : items) expected += x * x;
  for (int chunksize : {1, 1000}) {
    Stopwatch clock;
    int64_t total = 0;
    {
      ProcessPoolExecutor pool(2);
      for (int64_t r : pool.Map(&Square, items, {.chunksize = chunksize})) total += r;
    }
    Say("chunksize %4d: %6.1f ms for %d items (%d frames to the workers)", chunksize,
        clock.Millis(), items.size(), items.size() / chunksize);
    Check(total == expected, "the same results either way");
  }
  Notice("each chunk is one frame to a worker and one back, so chunksize cuts the per-item "
         "cost of inter-process communication; results still come in input order.");
}

// seed 000 and 001: the same CPU-bound work sequential, on threads and on processes.
void CpuBound() {
  const int workers = CpusToUse();
  // Calibrated so that one call takes about 0.1 s in this build (sanitizers slow it down).
  Stopwatch probe;
  SumOfSquaresModP(1'000'000);
  const int64_t n = std::clamp<int64_t>(
      static_cast<int64_t>(1'000'000 * 100 / std::max(probe.Millis(), 0.01)), 1'000'000,
      200'000'000);
  const std::vector<int64_t> numbers(workers * 2, n);
  const int64_t expected = SumOfSquaresModP(n);

  Stopwatch sequential_clock;
  for (int64_t x : numbers) Check(SumOfSquaresModP(x) == expected, "sequential result");
  const double sequential = sequential_clock.Seconds();

  Stopwatch thread_clock;
  {
    ThreadPoolExecutor pool(workers);
    for (int64_t r : pool.Map(&SumOfSquaresModP, numbers)) Check(r == expected, "thread result");
  }
  const double threads = thread_clock.Seconds();

  Stopwatch process_clock;
  {
    ProcessPoolExecutor pool(workers);
    for (int64_t r : pool.Map(&SumOfSquaresModP, numbers)) Check(r == expected, "process result");
  }
  const double processes = process_clock.Seconds();
  Say("%d calls of a %lld-step loop, %d workers (this machine: %d CPUs):", numbers.size(),
      static_cast<long long>(n), workers, std::thread::hardware_concurrency());
  Say("sequential: %.3f s", sequential);
  Say("threads:    %.3f s  (%.2fx)", threads, sequential / threads);
  Say("processes:  %.3f s  (%.2fx, including starting the workers)", processes,
      sequential / processes);
  Notice("C++ has no GIL: threads speed up CPU-bound work as much as processes do. Processes "
         "add start-up and serialization costs but isolate crashes and memory; in Python only "
         "the processes would be faster.");
}

// seed 002: "Practical Example: Multicore Prime Checker".
void PrimeChecker() {
  // The tutorial's list without its slowest primes (//tools:primes runs all of it).
  const std::vector<int64_t> numbers = {2,
                                        142702110479723,
                                        299593572317531,
                                        3333333333333333,
                                        4444444444444444,
                                        5555555555555555,
                                        6666666666666666,
                                        7777777777777777,
                                        9999999999999999};
  const std::vector<bool> expected = {true, true, true, false, false, false, false, false, false};
  ProcessPoolExecutor pool;
  std::vector<bool> got;
  for (const tools::PrimeResult& r : pool.Map(&tools::CheckPrime, numbers)) {
    Say("%16d %c %9.6fs", r.n, r.prime ? 'P' : ' ', r.seconds);
    got.push_back(r.prime);
  }
  Check(got == expected, "primes found");
  Notice("a struct with a cereal serialize() method travels like any value; the times are "
         "measured in the workers. Try ./bazelw run --config=opt //tools:primes for the full "
         "list.");
}

// seed 002: "Switching Between Thread and Process Executors".
template <typename Executor>
std::vector<int64_t> SquaresOn(Executor& executor, const std::vector<int64_t>& items) {
  std::vector<int64_t> out;
  for (int64_t r : executor.Map(&Square, items)) out.push_back(r);
  return out;
}

void SameApi() {
  const std::vector<int64_t> items = {1, 2, 3, 4, 5};
  ThreadPoolExecutor threads;
  ProcessPoolExecutor processes;
  const std::vector<int64_t> a = SquaresOn(threads, items);
  const std::vector<int64_t> b = SquaresOn(processes, items);
  Say("on threads:   %s", absl::StrJoin(a, ", "));
  Say("on processes: %s", absl::StrJoin(b, ", "));
  Check(a == b, "same results");
  Notice("both executors have the same Submit / Map / Shutdown, so code templated on the "
         "executor switches between them; the process pool only needs CF_TASK functions.");
}

}  // namespace

std::vector<Section> ProcessesSections() {
  return {
      {"process_map", "process-pool Map: which worker process ran each task", ProcessMap},
      {"process_broken", "a broken process pool after a worker is killed", ProcessBroken},
      {"map_chunksize", "process-pool Map with chunksize", MapChunksize},
      {"cpu_bound", "CPU-bound work: sequential vs threads vs processes", CpuBound},
      {"prime_checker", "the multicore prime checker", PrimeChecker},
      {"same_api", "switching between thread and process executors", SameApi},
  };
}

}  // namespace cf::tour
