// The tour's second part: errors, timeouts and the executor's lifetime — exceptions in tasks,
// timeouts on Result/AsCompleted/Map, scoped executors, pool options and shared state (the
// ThreadPoolExecutor examples of every seed tutorial).
#include <algorithm>
#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "cf/futures.h"
#include "tools/tour/tour.h"

namespace cf::tour {
namespace {

// seed 000 and 001: "Exception Handling"; seed 002: errors with map; seed 003: "Exceptions in
// Tasks".
void Exceptions() {
  auto risky_task = [](int n) {
    if (n == 3) throw std::invalid_argument(absl::StrFormat("Bad value: %d", n));
    return n * 2;
  };
  ThreadPoolExecutor pool(3);
  absl::flat_hash_map<Future<int>, int> futures;
  for (int i = 0; i < 5; ++i) futures[pool.Submit(risky_task, i)] = i;
  int failed = 0;
  for (const Future<int>& f : AsCompleted(futures, kBound)) {
    try {
      Say("task %d: %d", futures.at(f), f.Result());
    } catch (const std::invalid_argument& e) {
      Say("task %d failed: std::invalid_argument: %s", futures.at(f), e.what());
      ++failed;
    }
  }
  Check(failed == 1, "one failure");

  Future<int> f = pool.Submit(risky_task, 3);
  std::exception_ptr error = f.Exception(kBound);  // waits; does not throw
  Say("Exception() without raising: %s", What(error));
  Say("future: %s", f.DebugString());

  Say("Map raises when iteration reaches the failing item:");
  try {
    for (int r : pool.Map(risky_task, std::vector<int>{1, 2, 3, 4, 5})) Say("  %d", r);
    Check(false, "Map should have thrown");
  } catch (const std::invalid_argument& e) {
    Say("  std::invalid_argument: %s", e.what());
  }
  Notice("the task's own exception object comes back from Result() (catch it by its type); "
         "Exception() hands it over without throwing.");
}

// seed 000 and 001: "Timeout Handling"; seed 002: "Map with Timeout".
void Timeouts() {
  // A "slow" task (3 tutorial seconds or more) waits at the gate until the section ends, so every
  // timeout below fires however loaded the machine is; the quick ones really sleep.
  Gate gate;
  ThreadPoolExecutor pool(4);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  auto slow_task = [&gate](double seconds) {
    if (seconds >= 3) {
      gate.Pass();
    } else {
      SleepTutorialSeconds(seconds);
    }
    return absl::StrFormat("Completed after %gs", seconds);
  };
  Future<std::string> future = pool.Submit(slow_task, 5);
  try {
    Say("%s", future.Result(TutorialSeconds(2)));
    Check(false, "Result(timeout) should time out");
  } catch (const TimeoutError& e) {
    Say("Result(2 s): cf::TimeoutError — task timed out! (%s)", future.DebugString());
  }
  std::vector<Future<std::string>> futures;
  for (double s : {1.0, 3.0, 5.0}) futures.push_back(pool.Submit(slow_task, s));
  try {
    for (const auto& f : AsCompleted(futures, TutorialSeconds(2))) Say("%s", f.Result());
    Check(false, "AsCompleted(timeout) should time out");
  } catch (const TimeoutError& e) {
    Say("AsCompleted(2 s): cf::TimeoutError: %s", e.what());
  }
  try {
    for (const std::string& s :
         pool.Map(slow_task, std::vector<double>{0.5, 6}, {.timeout = TutorialSeconds(2)})) {
      Say("Map: %s", s);
    }
    Check(false, "Map(timeout) should time out");
  } catch (const TimeoutError&) {
    Say("Map(timeout = 2 s): cf::TimeoutError — timed out waiting for results");
  }
  gate.Open();
  Notice("a timeout only stops the waiting: the tasks keep running (the pool waits for them "
         "when it is destroyed); Map's timeout counts from the Map() call.");
}

// seed 000: "Executor Context Manager"; seed 003: "Context Manager".
void ScopedExecutor() {
  std::atomic<int> finished{0};
  Say("main: starting");
  {
    ThreadPoolExecutor pool(3);
    for (int i = 1; i <= 4; ++i) {
      pool.Submit([i, &finished] {
        SleepTutorialSeconds(1);
        Say("%d", i);
        ++finished;
      });
    }
    Say("main: leaving the scope (the destructor is Shutdown(wait = true))");
  }
  Say("main: done — %d of 4 tasks finished", finished.load());
  Check(finished.load() == 4, "the destructor waited");

  ThreadPoolExecutor manual(3);
  Future<int> f = manual.Submit([] { return 2; });
  manual.Shutdown(/*wait=*/true);
  Say("manual Shutdown(true) waited: %s", f.DebugString());
  try {
    manual.Submit([] { return 3; });
    Check(false, "Submit after Shutdown should throw");
  } catch (const ShutdownError& e) {
    Say("Submit after Shutdown: cf::ShutdownError: %s", e.what());
  }

  Gate gate;
  ThreadPoolExecutor cancelling(1);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  Future<int> running = cancelling.Submit([&gate] {
    gate.Pass();
    return 1;
  });
  std::vector<Future<int>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(cancelling.Submit([i] { return i; }));
  gate.AwaitArrivals(1);
  cancelling.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  gate.Open();
  const auto n = std::count_if(queued.begin(), queued.end(),
                               [](const Future<int>& q) { return q.Cancelled(); });
  Say("Shutdown(wait = false, cancel_futures = true): %d queued futures cancelled, the "
      "running one returned %d",
      n, running.Result(kBound));
  Check(n == 3, "cancel_futures");
  Notice("a scope is Python's with-block: leaving it waits for every task. Shutdown can also "
         "cancel what is still queued.");
}

// seed 001: "Controlling Thread/Process Pool Size"; seed 002: default max_workers.
void PoolConfig() {
  ThreadPoolExecutor threads;
  ProcessPoolExecutor processes;  // starts no worker until the first Submit
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  Say("ThreadPoolExecutor() max_workers = %d  (min(32, CPUs + 4); this machine has %d CPUs)",
      threads.max_workers(), cpus);
  Say("ProcessPoolExecutor() max_workers = %d  (the CPUs this process may run on)",
      processes.max_workers());
  Gate gate;  // holds both tasks until both threads exist
  ThreadPoolExecutor scraper({.max_workers = 2,
                              .thread_name_prefix = "WebScraper",
                              .initializer = [] { Say("initializer ran in %s", ThreadName()); }});
  std::vector<Future<std::string>> names;
  for (int i = 0; i < 2; ++i) {
    names.push_back(scraper.Submit([&gate] {
      gate.Arrive();
      gate.AwaitArrivals(2);  // hold both workers busy, so that both threads exist
      return ThreadName();
    }));
  }
  for (auto& n : names) Say("task ran in thread %s", n.Result(kBound));
  Check(names[0].Result().rfind("WebScraper_", 0) == 0, "thread_name_prefix");
  Notice("threads are started on demand up to max_workers and named <prefix>_<n>; the "
         "initializer runs once in each new thread before its first task.");
}

// seed 001: "Pitfall 1: Shared State in Threads".
void SharedState() {
  ThreadPoolExecutor pool(4);
  absl::Mutex mu;
  int counter = 0;
  std::atomic<int> atomic_counter{0};
  std::vector<Future<void>> futures;
  for (int t = 0; t < 4; ++t) {
    futures.push_back(pool.Submit([&] {
      for (int i = 0; i < 100000; ++i) {
        absl::MutexLock lock(&mu);
        ++counter;
      }
      for (int i = 0; i < 100000; ++i) atomic_counter.fetch_add(1, std::memory_order_relaxed);
    }));
  }
  for (auto& f : futures) f.Result(kBound);
  absl::MutexLock lock(&mu);
  Say("4 tasks x 100000 increments: with absl::Mutex %d, with std::atomic %d", counter,
      atomic_counter.load());
  Check(counter == 400000 && atomic_counter.load() == 400000, "no lost increments");
  Notice("the unsynchronised counter += 1 of the tutorial is a data race — undefined behaviour "
         "in C++ (ThreadSanitizer reports it) — so the tour does not run it. Guard shared "
         "state, or better, return results through futures.");
}

}  // namespace

std::vector<Section> ErrorsSections() {
  return {
      {"exceptions", "exceptions in tasks", Exceptions},
      {"timeouts", "timeouts on Result, AsCompleted and Map", Timeouts},
      {"scoped_executor", "scoped executors: the destructor waits, like Python's with",
       ScopedExecutor},
      {"pool_config", "pool size, thread names and initializer", PoolConfig},
      {"shared_state", "shared state between tasks", SharedState},
  };
}

}  // namespace cf::tour
