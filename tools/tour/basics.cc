// The tour's first part: threads and futures — threads by hand vs an executor, I/O-bound work,
// Map's order, Submit, AsCompleted, Wait, done-callbacks and cancelling (the ThreadPoolExecutor
// examples of every seed tutorial; errors, timeouts and lifetime are in errors.cc).
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

std::string FetchUrl(const std::string& url) {
  SleepTutorialSeconds(1);  // the network
  return "Content from " + url;
}

// seed 001: "The Problem with Traditional Python Threading".
void ThreadsByHand() {
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([i] {
      Say("worker %d starting", i);
      SleepTutorialSeconds(2);
      Say("worker %d finished", i);
    });
  }
  for (std::thread& t : threads) t.join();
  Say("raw threads return nothing; an executor hands back each result as a future:");
  ThreadPoolExecutor pool(3);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 3; ++i) {
    futures.push_back(pool.Submit([i] {
      SleepTutorialSeconds(2);
      return i * i;
    }));
  }
  for (int i = 0; i < 3; ++i) {
    const int result = futures[i].Result(kBound);
    Say("task %d returned %d", i, result);
    Check(result == i * i, "task results");
  }
  Notice("the executor owns the threads, caps how many run at once (max_workers), and returns "
         "results and exceptions through futures.");
}

// seed 000: "ThreadPoolExecutor Basics" — sequential vs concurrent I/O.
void IoBound() {
  const std::vector<std::string> urls = {"http://site1.com", "http://site2.com",
                                         "http://site3.com"};
  Stopwatch sequential_clock;
  std::vector<std::string> sequential;
  for (const std::string& url : urls) sequential.push_back(FetchUrl(url));
  const double sequential_ms = sequential_clock.Millis();

  Stopwatch concurrent_clock;
  std::vector<std::string> concurrent;
  {
    ThreadPoolExecutor pool(3);
    for (std::string& s : pool.Map(&FetchUrl, urls)) concurrent.push_back(std::move(s));
  }
  const double concurrent_ms = concurrent_clock.Millis();
  Say("sequential: %4.0f ms (3 fetches of 1 tutorial second = %.0f ms each)", sequential_ms,
      absl::ToDoubleMilliseconds(kTutorialSecond));
  Say("concurrent: %4.0f ms with ThreadPoolExecutor(3).Map -> %.1fx faster", concurrent_ms,
      sequential_ms / concurrent_ms);
  Say("results: %s", absl::StrJoin(concurrent, ", "));
  Check(sequential == concurrent, "same results either way");
  Notice("threads overlap the waiting: three 1-second fetches take about one second.");
}

// seed 003 (PyMOTW): "Using map() with a Basic Thread Pool"; seed 002: "Executor.map Behavior".
void MapOrder() {
  ThreadPoolExecutor pool({.max_workers = 2, .thread_name_prefix = "Thread"});
  Say("main: starting");
  auto results = pool.Map(
      [](int n) {
        Say("%s: sleeping %d", ThreadName(), n);
        SleepTutorialSeconds(n / 2.0);
        Say("%s: done with %d", ThreadName(), n);
        return n / 10.0;
      },
      std::vector<int>{5, 4, 3, 2, 1});
  Say("main: unprocessed results: a cf::MapResults<double>; iterating waits for each one");
  Say("main: waiting for real results");
  std::vector<double> real;
  for (double r : results) real.push_back(r);
  Say("main: results: [%s]", absl::StrJoin(real, ", "));
  Check(real == std::vector<double>{0.5, 0.4, 0.3, 0.2, 0.1}, "Map keeps input order");

  // seed 002: results come in submission order even though task(1) finishes first.
  Stopwatch clock;
  ThreadPoolExecutor three(3);
  for (int r : three.Map(
           [](int n) {
             SleepTutorialSeconds(n);
             return n * 10;
           },
           std::vector<int>{3, 2, 1, 4, 5})) {
    Say("got %d after %3.0f ms", r, clock.Millis());
  }
  Notice("tasks finish out of order (4 before 5, 2 before 3) but Map yields results in input "
         "order; a slow first task holds back the results behind it (30 waits, then 20 and 10 "
         "come at once).");
}

// seed 003 (PyMOTW): "Scheduling Individual Tasks"; seed 000: "Using submit() and Future".
void SubmitAndState() {
  Gate gate;
  ThreadPoolExecutor pool(1);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  Say("main: starting");
  Future<double> future = pool.Submit([&gate] {
    Say("%s: sleeping 5", ThreadName());
    gate.Pass();
    Say("%s: done with 5", ThreadName());
    return 0.5;
  });
  Future<int> queued = pool.Submit([] { return 42; });  // behind it: one worker
  gate.AwaitArrivals(1);
  Say("main: future: %s", future.DebugString());
  Say("main: queued: %s", queued.DebugString());
  Say("main: Done() = %s, Running() = %s", future.Done() ? "true" : "false",
      future.Running() ? "true" : "false");
  Check(future.Running() && !queued.Running() && !queued.Done(), "running vs pending");
  Say("main: waiting for results");
  gate.Open();
  Say("main: result: %g", future.Result(kBound));
  Say("main: future after result: %s", future.DebugString());
  Check(future.Done() && queued.Result(kBound) == 42, "finished");
  Notice("Submit returns at once; the future goes pending -> running -> finished, and "
         "DebugString() reads like Python's repr of a Future.");
}

// seed 000: "Processing Results as They Complete" (future_to_source); seed 003: as_completed.
void AsCompletedSection() {
  ThreadPoolExecutor pool(5);
  const std::vector<double> delays = {1.3, 0.6, 1.9, 0.9, 1.5};  // the tutorial's random delays
  absl::flat_hash_map<Future<std::string>, int> future_to_source;
  for (int source = 0; source < 5; ++source) {
    const double delay = delays[source];
    future_to_source[pool.Submit([source, delay] {
      SleepTutorialSeconds(delay);
      return absl::StrFormat("Data from source %d (took %.2fs)", source, delay);
    })] = source;
  }
  int seen = 0;
  for (const Future<std::string>& f : AsCompleted(future_to_source, kBound)) {
    Say("source %d: %s", future_to_source.at(f), f.Result());
    ++seen;
  }
  Check(seen == 5, "every future yielded once");
  Notice("AsCompleted accepts the future -> source map itself and yields in completion order "
         "(1, 3, 0, 4, 2 here), not submission order; Result() no longer blocks.");
}

// seed 000: "Using wait() for Completion Control"; seed 004: "Waiting for Multiple Futures".
void WaitSection() {
  Gate gate;  // the kFirstException part's slow task waits here until Wait has returned
  ThreadPoolExecutor pool(3);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  auto task = [](int id, double seconds) {
    SleepTutorialSeconds(seconds);
    return absl::StrFormat("Task %d done", id);
  };
  std::vector<Future<std::string>> futures = {pool.Submit(task, 1, 3), pool.Submit(task, 2, 1),
                                              pool.Submit(task, 3, 2)};
  auto [done, not_done] = Wait(futures, kBound, ReturnWhen::kFirstCompleted);
  Say("first completed: %s", done.front().Result());
  Say("still running: %d", not_done.size());
  Check(!done.empty() && done.size() + not_done.size() == 3, "kFirstCompleted");
  auto [rest, none] = Wait(not_done, kBound, ReturnWhen::kAllCompleted);
  for (const auto& f : rest) Say("completed: %s", f.Result());
  Check(none.empty(), "kAllCompleted");

  Future<int> slow = pool.Submit([&gate] {
    gate.Pass();
    return 1;
  });
  Future<int> failing = pool.Submit([]() -> int {
    SleepTutorialSeconds(0.5);
    throw std::runtime_error("disk full");
  });
  auto [first_error, pending] = Wait({slow, failing}, kBound, ReturnWhen::kFirstException);
  gate.Open();
  Say("kFirstException returned with %d done (%s) and %d pending", first_error.size(),
      What(first_error.front().Exception()), pending.size());
  Check(first_error.front() == failing, "kFirstException");
  Notice("Wait returns (done, not_done) as soon as its condition holds, without polling; "
         "not_done can be waited on again.");
}

// seed 000 and 004: "Adding Callbacks"; seed 003 (PyMOTW): "Future Callbacks".
void Callbacks() {
  ThreadPoolExecutor pool(3);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 5; ++i) {
    Future<int> f = pool.Submit([i] {
      SleepTutorialSeconds(1);
      return i * i;
    });
    f.AddDoneCallback([](const Future<int>& done) {
      try {
        Say("callback in %s: result is %d", ThreadName(), done.Result());
      } catch (const std::exception& e) {
        Say("callback: task failed with %s", e.what());
      }
    });
    futures.push_back(f);
  }
  Say("main thread: tasks submitted");
  Check(Wait(futures, kBound).not_done.empty(), "all done");
  Say("main thread: done waiting");

  // PyMOTW: a callback runs whatever made the future done, so it checks Cancelled() first.
  Gate gate;
  ThreadPoolExecutor one(1);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  Future<int> busy = one.Submit([&gate] {
    gate.Pass();
    return 5;
  });
  Future<int> queued = one.Submit([] { return 6; });
  auto report = [](const Future<int>& f) {
    if (f.Cancelled()) {
      Say("callback: the future was cancelled");
    } else {
      Say("callback: value returned: %d", f.Result());
    }
  };
  queued.AddDoneCallback(report);
  gate.AwaitArrivals(1);
  Check(queued.Cancel(), "a queued task can be cancelled");
  gate.Open();
  Check(busy.Result(kBound) == 5, "result");
  Say("adding a callback to a finished future:");
  busy.AddDoneCallback(report);
  Notice("callbacks run in the thread that completes the future (a worker, or the canceller), "
         "in the order they were added — or at once in the caller if the future is done.");
}

// seed 003 (PyMOTW): "Canceling Tasks"; seed 000: "Cancelling Tasks".
void Cancelling() {
  Gate gate;
  ThreadPoolExecutor pool(2);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  std::vector<std::pair<int, Future<int>>> tasks;
  Say("main: starting");
  for (int n = 10; n >= 1; --n) {
    Say("main: submitting %d", n);
    Future<int> f = pool.Submit([n, &gate] {
      Say("%d: sleeping", n);
      gate.Pass();
      Say("%d: done", n);
      return n;
    });
    f.AddDoneCallback([n](const Future<int>& done) {
      Say(done.Cancelled() ? "%d: canceled" : "%d: not canceled", n);
    });
    tasks.emplace_back(n, f);
  }
  gate.AwaitArrivals(2);  // 10 and 9 are running, the rest are queued
  int cancelled = 0;
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
    if (it->second.Cancel()) {
      ++cancelled;
    } else {
      Say("main: did not cancel %d", it->first);
    }
  }
  gate.Open();
  pool.Shutdown();
  Check(cancelled == 8, "8 queued tasks cancelled, 2 running ones not");
  Notice("Cancel() succeeds only for work that has not started (1..8 here); 9 and 10 were "
         "already running and finish normally. A cancelled future's callbacks run at once.");
}

}  // namespace

std::vector<Section> BasicsSections() {
  return {
      {"threads_by_hand", "threads by hand vs an executor", ThreadsByHand},
      {"io_bound", "I/O-bound work: sequential vs ThreadPoolExecutor", IoBound},
      {"map_order", "thread-pool Map keeps input order while tasks finish out of order",
       MapOrder},
      {"submit", "Submit, and a future's state before and after (DebugString)", SubmitAndState},
      {"as_completed", "AsCompleted yields futures as they finish", AsCompletedSection},
      {"wait", "Wait: kFirstCompleted, kAllCompleted, kFirstException", WaitSection},
      {"callbacks", "done-callbacks", Callbacks},
      {"cancel", "cancelling queued tasks: which could and could not be cancelled", Cancelling},
  };
}

}  // namespace cf::tour
