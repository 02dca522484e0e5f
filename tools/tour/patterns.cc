// The tour's third part: the tutorials' patterns (first-completed-then-cancel, pipeline, the
// pipeline with ThenValue and co_await, map-reduce, rate limiting, retry, progress tracking,
// batches); their small programs are in programs.cc.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "cf/futures.h"
#include "cf/tools/progress/progress_bar.h"
#include "tools/tour/tour.h"

namespace cf::tour {

// seed 004's map_task: [x * 2 for x in data], run in a worker process.
std::vector<int> DoubleEach(std::vector<int> data) {
  for (int& x : data) x *= 2;
  return data;
}

}  // namespace cf::tour

CF_TASK(cf::tour::DoubleEach);

namespace cf::tour {
namespace {

// seed 002: "Pattern 2: First Completed Result" — take the first, cancel the rest.
void FirstCompletedThenCancel() {
  Gate gate;
  ThreadPoolExecutor pool(2);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  const std::vector<std::pair<std::string, double>> mirrors = {
      {"mirror-eu", 3}, {"mirror-us", 1}, {"mirror-asia", 2}, {"mirror-au", 2}, {"mirror-sa", 2}};
  // The fastest mirror answers after 1 tutorial second; the others wait at the gate until the
  // section has cancelled what it could, so at most two of them (one per worker) are running.
  absl::flat_hash_map<Future<std::string>, std::string> futures;
  for (const auto& [name, seconds] : mirrors) {
    futures[pool.Submit([name, seconds, &gate] {
      if (seconds > 1) {
        gate.Pass();
      } else {
        SleepTutorialSeconds(seconds);
      }
      return name + " answered";
    })] = name;
  }
  auto [done, pending] = Wait(futures, kBound, ReturnWhen::kFirstCompleted);
  Say("first result: %s", done.front().Result());
  int cancelled = 0;
  for (const Future<std::string>& f : pending) {
    const bool ok = f.Cancel();
    cancelled += ok ? 1 : 0;
    Say("%-11s %s", futures.at(f),
        ok ? "cancelled (had not started)" : "could not cancel: already running");
  }
  gate.Open();
  Check(done.front().Result() == "mirror-us answered", "the fastest mirror came first");
  Check(cancelled >= 2, "the queued mirrors were cancelled");
  Notice("Wait(kFirstCompleted) returns with the first answer; Cancel() then stops what is "
         "still queued. What is already running cannot be stopped and runs to the end.");
}

// seed 004: "Pattern 1: Pipeline with Futures".
void Pipeline() {
  ThreadPoolExecutor pool;
  const std::vector<int> items = {1, 2, 3, 4, 5};
  std::vector<Future<int>> stage1, stage2, stage3;
  for (int item : items) stage1.push_back(pool.Submit([item] { return item * 2; }));
  for (const auto& f : AsCompleted(stage1, kBound)) {
    stage2.push_back(pool.Submit([x = f.Result()] { return x + 10; }));
  }
  for (const auto& f : AsCompleted(stage2, kBound)) {
    stage3.push_back(pool.Submit([x = f.Result()] { return x * x; }));
  }
  std::vector<int> results;
  for (const auto& f : AsCompleted(stage3, kBound)) results.push_back(f.Result());
  Say("results (completion order): [%s]", absl::StrJoin(results, ", "));
  std::sort(results.begin(), results.end());
  Check(results == std::vector<int>{144, 196, 256, 324, 400}, "((x * 2) + 10)^2");
  Notice("each stage submits work as soon as an item leaves the stage before it; the order "
         "may differ from the input order.");
}

// One item through seed 004's pipeline as a coroutine: each co_await suspends until the stage's
// task is done, and the next stage is submitted from the worker that finished it.
Future<int> PipelineItem(ThreadPoolExecutor& pool, int item) {
  const int doubled = co_await pool.Submit([item] { return item * 2; });
  const int shifted = co_await pool.Submit([doubled] { return doubled + 10; });
  co_return co_await pool.Submit([shifted] { return shifted * shifted; });
}

// seed 004's pipeline again, with continuations instead of AsCompleted loops: once with
// ThenValue on the pool, once with co_await; cf::Collect gathers the results in input order.
void PipelineThen() {
  ThreadPoolExecutor pool(2);
  const std::vector<int> items = {1, 2, 3, 4, 5};
  std::vector<Future<int>> chained;
  for (int item : items) {
    chained.push_back(pool.Submit([item] { return item * 2; })
                          .ThenValue(pool, [](int x) { return x + 10; })
                          .ThenValue(pool, [](int x) { return x * x; }));
  }
  const std::vector<int> with_then = Collect(chained).Result(kBound);
  Say("with ThenValue:  [%s]", absl::StrJoin(with_then, ", "));
  std::vector<Future<int>> awaited;
  for (int item : items) awaited.push_back(PipelineItem(pool, item));
  const std::vector<int> with_co_await = Collect(awaited).Result(kBound);
  Say("with co_await:   [%s]", absl::StrJoin(with_co_await, ", "));
  const std::vector<int> expected = {144, 196, 256, 324, 400};
  Check(with_then == expected, "ThenValue: ((x * 2) + 10)^2, in input order");
  Check(with_co_await == expected, "co_await: ((x * 2) + 10)^2, in input order");
  Notice("no loop waits between stages: each item moves on as soon as its own stage is done, "
         "and Collect gives the results in input order, not completion order.");
}

// seed 004: "Pattern 2: Map-Reduce" on a process pool.
void MapReduce() {
  const std::vector<std::vector<int>> chunks = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  ProcessPoolExecutor pool;
  int result = 0;
  for (const std::vector<int>& mapped : pool.Map(&DoubleEach, chunks)) {
    result = std::accumulate(mapped.begin(), mapped.end(), result);  // the reduce step
  }
  Say("reduce(map(DoubleEach, %d chunks)) = %d", chunks.size(), result);
  Check(result == 90, "2 * (1 + ... + 9)");
  Notice("the map phase runs in worker processes (whole vectors travel as arguments and "
         "results); the reduce phase folds the results in input order as they arrive.");
}

// seed 004: "Pattern 3: Rate-Limited Executor" — at most `rate` task starts per second.
class RateLimitedExecutor {
 public:
  RateLimitedExecutor(int max_workers, double rate)
      : interval_(absl::Seconds(1) / rate), pool_(max_workers) {}

  // The time between two starts.
  absl::Duration interval() const { return interval_; }

  template <typename F>
  auto Submit(F fn) {
    return pool_.Submit([this, fn = std::move(fn)]() mutable {
      WaitForSlot();
      return fn();
    });
  }

 private:
  // Takes the next start slot (slots are `interval_` apart) and sleeps until it.
  void WaitForSlot() {
    absl::Time slot;
    {
      absl::MutexLock lock(&mu_);
      slot = std::max(absl::Now(), next_slot_);
      next_slot_ = slot + interval_;
    }
    absl::SleepFor(slot - absl::Now());
  }

  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::Time next_slot_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  ThreadPoolExecutor pool_;  // last: destroyed (joined) first, while mu_ still exists
};

void RateLimited() {
  constexpr int kTasks = 20;
  const double kRate = 5 / absl::ToDoubleSeconds(kTutorialSecond);  // 5 per tutorial second
  std::vector<Future<absl::Time>> futures;
  const absl::Time start = absl::Now();
  absl::Duration interval;
  {
    RateLimitedExecutor executor(/*max_workers=*/10, kRate);
    interval = executor.interval();
    for (int i = 0; i < kTasks; ++i) futures.push_back(executor.Submit([] { return absl::Now(); }));
  }
  absl::Time last_start = start;
  for (auto& f : futures) last_start = std::max(last_start, f.Result());
  const absl::Duration span = last_start - start;
  Say("%d tasks on 10 workers, limit %.0f starts/s: the last started after %.0f ms, %.0f "
      "starts/s",
      kTasks, kRate, absl::ToDoubleMilliseconds(span), (kTasks - 1) / absl::ToDoubleSeconds(span));
  // Each start waits for its own slot, one interval after the one before.
  Check(span >= (kTasks - 1) * interval, "the rate stays under the limit");
  Notice("a small wrapper around ThreadPoolExecutor spaces task starts evenly; ten workers "
         "could go faster, the limiter keeps them at 5 per tutorial second.");
}

// seed 004: "Pattern 4: Retry Logic".
template <typename F>
auto RetryTask(F fn, int max_attempts, absl::Duration delay) {
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const std::exception& e) {
      if (attempt == max_attempts) throw;
      Say("attempt %d failed (%s), retrying...", attempt, e.what());
      absl::SleepFor(delay);
    }
  }
}

void Retry() {
  ThreadPoolExecutor pool;
  int calls = 0;  // only the one task touches it
  auto unreliable = [&calls] {
    if (++calls < 3) throw std::runtime_error("Task failed");  // the tutorial's 70%, made repeatable
    return std::string("Success");
  };
  Future<std::string> f =
      pool.Submit([&] { return RetryTask(unreliable, 3, TutorialSeconds(0.5)); });
  Say("result: %s", f.Result(kBound));
  Check(calls == 3, "succeeded on the third attempt");

  Future<std::string> hopeless = pool.Submit([] {
    return RetryTask([]() -> std::string { throw std::runtime_error("server down"); }, 3,
                     TutorialSeconds(0.5));
  });
  Say("always failing: %s", What(hopeless.Exception(kBound)));
  Notice("retrying inside the task keeps the future simple: it finishes once, with the first "
         "success or the last attempt's exception.");
}

// seed 004: "Pattern 5: Progress Tracking"; seed 002: "Progress Display Pattern" (tqdm).
void Progress() {
  ThreadPoolExecutor pool(4);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 10; ++i) {
    futures.push_back(pool.Submit([i] {
      SleepTutorialSeconds(1 + (i % 3) / 2.0);
      return i * 2;
    }));
  }
  std::fflush(stdout);
  ProgressBar bar(static_cast<int64_t>(futures.size()),
                  {.label = "   tasks", .out = stdout, .plain_interval = absl::ZeroDuration()});
  int sum = 0;
  for (const auto& f : AsCompleted(futures, kBound)) {
    sum += f.Result();
    bar.Advance();
  }
  bar.Finish();
  Check(sum == 90 && bar.done() == 10, "all results");
  Notice("cf::ProgressBar (tools/progress) takes tqdm's place: on a terminal it redraws one "
         "line with count, percent, rate and ETA; in a log it prints plain lines.");
}

// seed 002: "Pattern 3: Batch Processing"; seed 001: "Memory and Resource Management".
void Batches() {
  std::vector<int> items(1000);
  std::iota(items.begin(), items.end(), 0);
  constexpr int kBatchSize = 250;
  ThreadPoolExecutor pool(4);
  std::vector<int> results;
  for (size_t i = 0; i < items.size(); i += kBatchSize) {
    std::vector<int> batch(items.begin() + i, items.begin() + std::min(items.size(), i + kBatchSize));
    std::vector<int> batch_results;
    for (int r : pool.Map([](int x) { return x * 3; }, batch)) batch_results.push_back(r);
    Say("batch %d: items %d..%d -> %d results", i / kBatchSize, batch.front(), batch.back(),
        batch_results.size());
    results.insert(results.end(), batch_results.begin(), batch_results.end());
  }
  Check(results.size() == items.size() && results[999] == 2997, "every batch");
  Notice("only one batch is in flight at a time, which bounds memory; Map's buffersize option "
         "does the same for one long input without cutting it by hand.");
}

}  // namespace

std::vector<Section> PatternsSections() {
  return {
      {"first_completed", "Wait with kFirstCompleted, then cancel the rest",
       FirstCompletedThenCancel},
      {"pipeline", "pattern: a pipeline of stages", Pipeline},
      {"pipeline_then", "pattern: the pipeline with ThenValue and with co_await",
       PipelineThen},
      {"map_reduce", "pattern: map-reduce on a process pool", MapReduce},
      {"rate_limited", "pattern: a rate-limited executor", RateLimited},
      {"retry", "pattern: retry inside a task", Retry},
      {"progress", "pattern: progress tracking with cf::ProgressBar", Progress},
      {"batches", "pattern: processing in batches", Batches},
  };
}

}  // namespace cf::tour
