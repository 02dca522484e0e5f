// The tour's part on surviving trouble (issue 14; docs/semantics.md §5.14): a call's timeout,
// what a worker's death means (WorkerDeath), Shutdown with a deadline, and stats(). Python's
// concurrent.futures has none of these; pebble, Ray and Java's executors do.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/futures.h"
#include "tools/tour/tour.h"

namespace cf::tour {

// Tasks: one that takes `millis`, one that never returns, one that kills its own worker.
int Simulate(int millis) {
  absl::SleepFor(absl::Milliseconds(millis));
  return millis;
}
int Stuck(int unused) {
  for (;;) pause();
  return unused;
}
int CrashOnce(std::string marker) {
  if (access(marker.c_str(), F_OK) != 0) {
    if (FILE* f = std::fopen(marker.c_str(), "w")) std::fclose(f);
    raise(SIGKILL);
  }
  return 7;
}

}  // namespace cf::tour

CF_TASK(cf::tour::Simulate);
CF_TASK(cf::tour::Stuck);
CF_TASK(cf::tour::CrashOnce);

namespace cf::tour {
namespace {

// pebble's schedule(timeout=): the call that overstays is ended with its worker.
void TaskTimeout() {
  ProcessPoolExecutor pool({.max_workers = 2, .kill_grace = absl::Milliseconds(200)});
  Future<int> quick = pool.SubmitWith({.timeout = absl::Seconds(5)}, &Simulate, 20);
  Future<int> stuck = pool.SubmitWith({.timeout = absl::Milliseconds(200)}, &Stuck, 0);
  Say("a 20 ms call with a 5 s timeout returned %d", quick.Result(kBound));
  try {
    stuck.Result(kBound);
    Check(false, "the stuck call should time out");
  } catch (const TaskTimeoutError& e) {
    Say("the stuck call: %s", e.what());
  }
  Say("the pool goes on: %d", pool.Submit(&Simulate, 1).Result(kBound));
  const ExecutorStats s = pool.stats();
  Say("stats: %d timeout(s), %d worker restart(s) so far (a replacement starts when work "
      "needs it)",
      s.task_timeouts, s.worker_restarts);
  Check(s.task_timeouts == 1, "one timeout counted");
  Notice("the clock starts when a worker takes the call; at the deadline its worker (and what "
         "its task started) gets SIGTERM, SIGKILL after kill_grace, and a new worker replaces "
         "it — nothing else is disturbed.");
}

// Ray's retries; Python only knows kBreakPool.
void WorkerDeaths() {
  const std::string marker = "/tmp/cf_tour_crash_once_" + std::to_string(getpid());
  std::remove(marker.c_str());
  absl::Cleanup remove_marker = [&] { std::remove(marker.c_str()); };
  {
    ProcessPoolExecutor pool({.max_workers = 1, .on_worker_death = WorkerDeath::kFailTask});
    Future<int> crashed = pool.Submit(&CrashOnce, marker);
    try {
      crashed.Result(kBound);
      Check(false, "the first call kills its worker");
    } catch (const WorkerDiedError& e) {
      Say("kFailTask: only that call failed (signal %d): %s", e.signal(), e.what());
    }
    Say("kFailTask: the pool goes on, the next call returns %d",
        pool.Submit(&CrashOnce, marker).Result(kBound));
  }
  std::remove(marker.c_str());
  ProcessPoolExecutor pool({.max_workers = 1,
                            .on_worker_death = WorkerDeath::kRetryTask,
                            .max_retries = 2});
  const int value = pool.Submit(&CrashOnce, marker).Result(kBound);
  Say("kRetryTask: the call killed its first worker, ran again on a new one and returned %d",
      value);
  Check(value == 7 && pool.stats().worker_restarts >= 1, "the retried call returned");
  Notice("on_worker_death chooses: kBreakPool (Python's default), kFailTask (WorkerDiedError "
         "for that call alone) or kRetryTask (run it again, max_retries times); an exception "
         "from a task is never retried.");
}

// Java's awaitTermination / shutdownNow.
void ShutdownDeadline() {
  ProcessPoolExecutor pool(1);
  Future<int> stuck = pool.Submit(&Stuck, 0);
  while (!stuck.Running()) absl::SleepFor(absl::Milliseconds(1));
  const absl::Time start = absl::Now();
  const bool ended = pool.Shutdown({.wait = true,
                                    .timeout = absl::Milliseconds(100),
                                    .on_timeout = ShutdownOptions::kKill});
  Say("Shutdown(timeout 100 ms, kKill) returned %s after %d ms", ended ? "true" : "false",
      static_cast<int>(absl::ToInt64Milliseconds(absl::Now() - start)));
  try {
    stuck.Result(kBound);
  } catch (const BrokenProcessPool& e) {
    Say("the stuck call: %s", e.what());
  }
  Check(!ended && stuck.Done(), "the stuck worker was killed");
  Notice("Shutdown(ShutdownOptions) returns whether everything ended in time; kReturn leaves "
         "running calls running (AwaitTermination waits later), kTerminate/kKill end them.");
}

void Stats() {
  ProcessPoolExecutor processes(2);
  std::vector<Future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(processes.Submit(&Simulate, 5));
  const ExecutorStats busy = processes.stats();
  Say("process pool, busy: %d workers (%d busy), %d queued, %d submitted", busy.workers,
      busy.busy_workers, busy.queued, busy.submitted);
  for (auto& f : fs) f.Result(kBound);
  const ExecutorStats rest = processes.stats();
  Say("process pool, at rest: %d submitted = %d completed + %d failed + %d cancelled",
      rest.submitted, rest.completed, rest.failed, rest.cancelled);
  Check(rest.submitted == rest.completed + rest.failed + rest.cancelled, "the counts add up");
  Notice("stats() is a snapshot cheap enough for a progress display, callable from tasks and "
         "callbacks; counters never go down.");
}

}  // namespace

std::vector<Section> SurvivalSections() {
  return {
      {"task_timeout", "a call's timeout ends its worker, not the pool", TaskTimeout},
      {"worker_deaths", "what a worker's death means: kFailTask and kRetryTask", WorkerDeaths},
      {"shutdown_deadline", "Shutdown with a deadline, and what to do at it", ShutdownDeadline},
      {"executor_stats", "a pool's statistics", Stats},
  };
}

}  // namespace cf::tour
