// Port of CPython's test_as_completed.py and the as_completed() facts of its implementation
// (docs/semantics.md §2.2), with cf's deviation 1 (a cancelled future counts as completed at once).
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/canned_futures.h"
#include "tests/core/task_runner.h"

namespace cf {
namespace {

using ::cf::testing::CannedFutures;
using ::cf::testing::TaskRunner;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kBound = absl::Seconds(30);

TEST(AsCompletedTest, NoTimeout) {
  CannedFutures c;
  TaskRunner runner;
  Future<int> future1 = runner.Run([] { return 2 * 21; });
  Future<int> future2 = runner.Run([] { return 7 * 6; });
  std::vector<Future<int>> seen;
  for (const Future<int>& f :
       AsCompleted({c.cancelled_and_notified, c.exception, c.successful, future1, future2},
                   kBound)) {
    seen.push_back(f);
  }
  EXPECT_THAT(seen, UnorderedElementsAre(c.cancelled_and_notified, c.exception, c.successful,
                                         future1, future2));
}

TEST(AsCompletedTest, FutureTimesOut) {
  for (absl::Duration timeout : {absl::ZeroDuration(), absl::Milliseconds(100)}) {
    absl::Notification release;
    CannedFutures c;
    TaskRunner runner;
    Future<int> sleeping = runner.RunBlocked(release);
    std::vector<Future<int>> seen;
    try {
      for (const Future<int>& f :
           AsCompleted({c.cancelled_and_notified, c.exception, c.successful, sleeping},
                       timeout)) {
        seen.push_back(f);
      }
      ADD_FAILURE() << "expected TimeoutError";
    } catch (const TimeoutError& e) {
      EXPECT_STREQ(e.what(), "1 (of 4) futures unfinished");
    }
    // Already-done futures come first, in input order.
    EXPECT_THAT(seen, ElementsAre(c.cancelled_and_notified, c.exception, c.successful));
    release.Notify();
  }
}

TEST(AsCompletedTest, DuplicateFutures) {
  Future<int> f = MakeReadyFuture<int>(1);
  std::vector<Future<int>> repeated(3, f);
  int count = 0;
  for (const Future<int>& g : AsCompleted(repeated)) {
    EXPECT_EQ(g, f);
    ++count;
  }
  EXPECT_EQ(count, 1);
}

TEST(AsCompletedTest, YieldsInCompletionOrder) {
  std::vector<Promise<int>> promises(3);
  std::vector<Future<int>> fs;
  for (auto& p : promises) fs.push_back(p.GetFuture());
  std::vector<int> seen;
  auto completed = AsCompleted(fs, kBound);
  // Complete 2, 0, 1; each completion happens after the previous one was yielded.
  promises[2].SetResult(2);
  for (const Future<int>& f : completed) {
    seen.push_back(f.Result());
    if (seen.size() == 1) promises[0].SetResult(0);
    if (seen.size() == 2) promises[1].SetResult(1);
  }
  EXPECT_THAT(seen, ElementsAre(2, 0, 1));
}

TEST(AsCompletedTest, FreeReferenceYieldedFuture) {
  // CPython checks that yielded futures are not kept alive (a GC test, out of scope); what
  // carries over is the iteration itself: the two done futures come first, then a timeout, and
  // without a timeout completion of each pending future drives the iteration.
  std::vector<Promise<std::string>> promises(8);
  std::vector<Future<std::string>> fs;
  for (auto& p : promises) fs.push_back(p.GetFuture());
  Promise<std::string> cancelled;
  fs.push_back(cancelled.GetFuture());
  fs.back().Cancel();
  cancelled.SetRunningOrNotifyCancel();
  fs.push_back(MakeReadyFuture<std::string>("42"));
  int yielded = 0;
  try {
    for (const auto& f : AsCompleted(fs, absl::ZeroDuration())) {
      EXPECT_TRUE(f.Done());
      ++yielded;
    }
    ADD_FAILURE() << "expected TimeoutError";
  } catch (const TimeoutError& e) {
    EXPECT_STREQ(e.what(), "8 (of 10) futures unfinished");
  }
  EXPECT_EQ(yielded, 2);

  size_t next = 0;
  yielded = 0;
  for (const auto& f : AsCompleted(fs, kBound)) {
    EXPECT_TRUE(f.Done());
    ++yielded;
    if (next < promises.size()) promises[next++].SetResult("test");
  }
  EXPECT_EQ(yielded, 10);
}

TEST(AsCompletedTest, CorrectTimeoutExceptionMessage) {
  CannedFutures c;
  try {
    for (const auto& f :
         AsCompleted({c.cancelled_and_notified, c.pending, c.running, c.successful},
                     absl::ZeroDuration())) {
      (void)f;
    }
    FAIL() << "expected TimeoutError";
  } catch (const TimeoutError& e) {
    EXPECT_STREQ(e.what(), "2 (of 4) futures unfinished");
  }
}

TEST(AsCompletedTest, PlainCancelledCountsAsCompleted) {
  // Deviation 1: CPython raises "1 (of 1) futures unfinished" here.
  CannedFutures c;
  std::vector<Future<int>> seen;
  for (const auto& f : AsCompleted({c.cancelled}, absl::ZeroDuration())) seen.push_back(f);
  EXPECT_THAT(seen, ElementsAre(c.cancelled));
}

TEST(AsCompletedTest, CancelWakesIteration) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::vector<Future<int>> seen;
  auto completed = AsCompleted({f}, kBound);
  std::thread t([f] { f.Cancel(); });
  for (const auto& g : completed) seen.push_back(g);
  t.join();
  EXPECT_THAT(seen, ElementsAre(f));
  EXPECT_TRUE(seen[0].Cancelled());
}

TEST(AsCompletedTest, EmptyInput) {
  std::vector<Future<int>> none;
  int n = 0;
  for (const auto& f : AsCompleted(none, absl::ZeroDuration())) {
    (void)f;
    ++n;
  }
  EXPECT_EQ(n, 0);
}

TEST(AsCompletedTest, DeadlineStartsAtIteration) {
  // Python's as_completed computes its deadline at the first next(), not when it is called.
  // The range is created, then left alone for longer than its timeout; iteration must still
  // wait the whole timeout for the pending future. Only a lower bound is asserted, so a slow
  // machine cannot fail the test, but a clock started at creation would throw at once.
  CannedFutures c;
  constexpr absl::Duration kTimeout = absl::Milliseconds(300);
  auto completed = AsCompleted({c.pending}, kTimeout);
  absl::SleepFor(kTimeout + absl::Milliseconds(100));  // not for correctness: see above
  const absl::Time start = absl::Now();
  EXPECT_THROW(completed.begin(), TimeoutError);
  EXPECT_GE(absl::Now() - start, kTimeout - absl::Milliseconds(10));
}

TEST(AsCompletedTest, MapKeyedByFutures) {
  TaskRunner runner;
  absl::flat_hash_map<Future<std::string>, std::string> future_to_url;
  for (const std::string url : {"a", "b", "c"}) {
    future_to_url[runner.Run([url] { return url + url; })] = url;
  }
  std::map<std::string, std::string> results;
  for (const Future<std::string>& f : AsCompleted(future_to_url, kBound)) {
    results[future_to_url[f]] = f.Result();
  }
  EXPECT_EQ(results, (std::map<std::string, std::string>{{"a", "aa"}, {"b", "bb"}, {"c", "cc"}}));
}

TEST(AsCompletedTest, AnyFutures) {
  Promise<int> pi;
  Promise<std::string> ps;
  std::vector<AnyFuture> fs = {pi.GetFuture(), ps.GetFuture()};
  std::thread t([&] {
    ps.SetResult("s");
    pi.SetResult(1);
  });
  int n = 0;
  for (const AnyFuture& f : AsCompleted(fs, kBound)) {
    EXPECT_TRUE(f.Done());
    ++n;
  }
  t.join();
  EXPECT_EQ(n, 2);
}

TEST(AsCompletedTest, BreakingOutUnregisters) {
  std::vector<Promise<int>> promises(4);
  std::vector<Future<int>> fs;
  for (auto& p : promises) fs.push_back(p.GetFuture());
  promises[0].SetResult(0);
  for (const auto& f : AsCompleted(fs, kBound)) {
    EXPECT_EQ(f, fs[0]);
    break;
  }
  // The range is gone; completing the rest must not touch it (ASan would catch a use after
  // free).
  for (size_t i = 1; i < promises.size(); ++i) promises[i].SetResult(static_cast<int>(i));
}

}  // namespace
}  // namespace cf
