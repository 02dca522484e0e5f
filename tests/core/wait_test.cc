// Port of CPython's test_wait.py and the wait() facts of its implementation (docs/semantics.md
// §2.1), with cf's deliberate difference: a cancelled future is done for Wait() at once
// (deviation 1).
#include "cf/core/wait.h"

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/future.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/canned_futures.h"
#include "tests/core/task_runner.h"

namespace cf {
namespace {

using ::cf::testing::CannedFutures;
using ::cf::testing::TaskRunner;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kBound = absl::Seconds(30);

TEST(WaitTest, Issue20369DuplicatesCollapse) {
  Future<int> f = MakeReadyFuture<int>(2);
  auto [done, not_done] = Wait({f, f}, absl::InfiniteDuration(), ReturnWhen::kAllCompleted);
  EXPECT_THAT(done, ElementsAre(f));
  EXPECT_THAT(not_done, IsEmpty());
}

TEST(WaitTest, FirstCompleted) {
  absl::Notification release;
  CannedFutures c;
  Future<int> future2;
  Future<int> future1;
  {
    TaskRunner runner;
    future2 = runner.RunBlocked(release);
    Promise<int> p1;
    future1 = p1.GetFuture();
    std::thread t([&p1] { p1.SetResult(21 * 2); });
    // Without the cancelled future, the first completion is future1.
    auto [done, not_done] = Wait({future1, future2}, kBound, ReturnWhen::kFirstCompleted);
    t.join();
    EXPECT_THAT(done, ElementsAre(future1));
    EXPECT_THAT(not_done, ElementsAre(future2));
    // CPython counts a plain-cancelled future as not done here; cf counts it done.
    auto [done2, not_done2] =
        Wait({c.cancelled, future1, future2}, kBound, ReturnWhen::kFirstCompleted);
    EXPECT_THAT(done2, ElementsAre(c.cancelled, future1));
    EXPECT_THAT(not_done2, ElementsAre(future2));
    release.Notify();
  }
}

TEST(WaitTest, FirstCompletedSomeAlreadyCompleted) {
  absl::Notification release;
  CannedFutures c;
  TaskRunner runner;
  Future<int> blocking = runner.RunBlocked(release);
  const absl::Time start = absl::Now();
  auto [done, not_done] = Wait({c.cancelled_and_notified, c.successful, blocking}, kBound,
                               ReturnWhen::kFirstCompleted);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(done, ElementsAre(c.cancelled_and_notified, c.successful));
  EXPECT_THAT(not_done, ElementsAre(blocking));
  release.Notify();
}

TEST(WaitTest, FirstException) {
  absl::Notification release3;
  TaskRunner runner;
  Promise<int> p1;
  Future<int> future1 = p1.GetFuture();
  // future2 raises once future1 is done; future3 blocks until the end of the test.
  Future<int> future2 = runner.Run([future1]() -> int {
    future1.Wait(kBound);
    throw std::runtime_error("this is an exception");
  });
  Future<int> future3 = runner.RunBlocked(release3, 3);
  p1.SetResult(42);
  auto [finished, pending] =
      Wait({future1, future2, future3}, kBound, ReturnWhen::kFirstException);
  EXPECT_THAT(finished, ElementsAre(future1, future2));
  EXPECT_THAT(pending, ElementsAre(future3));
  release3.Notify();
}

TEST(WaitTest, FirstExceptionSomeAlreadyComplete) {
  absl::Notification release;
  CannedFutures c;
  TaskRunner runner;
  Future<int> future1 = runner.Run([]() -> int { throw std::domain_error("divmod(21, 0)"); });
  future1.Wait(kBound);
  Future<int> future2 = runner.RunBlocked(release);
  auto [finished, pending] =
      Wait({c.successful, c.cancelled_and_notified, future1, future2}, kBound,
           ReturnWhen::kFirstException);
  EXPECT_THAT(finished, ElementsAre(c.successful, c.cancelled_and_notified, future1));
  EXPECT_THAT(pending, ElementsAre(future2));
  release.Notify();
}

TEST(WaitTest, FirstExceptionOneAlreadyFailed) {
  absl::Notification release;
  CannedFutures c;
  TaskRunner runner;
  Future<int> blocking = runner.RunBlocked(release);
  const absl::Time start = absl::Now();
  auto [finished, pending] = Wait({c.exception, blocking}, kBound, ReturnWhen::kFirstException);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(finished, ElementsAre(c.exception));
  EXPECT_THAT(pending, ElementsAre(blocking));
  release.Notify();
}

TEST(WaitTest, FirstExceptionWithoutExceptionWaitsForAll) {
  TaskRunner runner;
  std::vector<Future<int>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(runner.Run([i] { return i; }));
  auto [finished, pending] = Wait(fs, kBound, ReturnWhen::kFirstException);
  EXPECT_EQ(finished.size(), 5u);
  EXPECT_THAT(pending, IsEmpty());
}

TEST(WaitTest, AllCompleted) {
  CannedFutures c;
  TaskRunner runner;
  Future<int> future1 = runner.Run([]() -> int { throw std::domain_error("divmod(2, 0)"); });
  Future<int> future2 = runner.Run([] { return 2 * 21; });
  auto [finished, pending] = Wait(
      {c.successful, c.cancelled_and_notified, c.exception, future1, future2}, kBound,
      ReturnWhen::kAllCompleted);
  EXPECT_THAT(finished, ElementsAre(c.successful, c.cancelled_and_notified, c.exception,
                                    future1, future2));
  EXPECT_THAT(pending, IsEmpty());
}

TEST(WaitTest, TimeoutReturnsWithoutThrowing) {
  absl::Notification release;
  CannedFutures c;
  TaskRunner runner;
  Future<int> blocking = runner.RunBlocked(release);
  auto [finished, pending] =
      Wait({c.cancelled_and_notified, c.exception, c.successful, blocking},
           absl::Milliseconds(50), ReturnWhen::kAllCompleted);
  EXPECT_THAT(finished, ElementsAre(c.cancelled_and_notified, c.exception, c.successful));
  EXPECT_THAT(pending, ElementsAre(blocking));
  release.Notify();
}

TEST(WaitTest, ZeroAndNegativeTimeoutJustCheck) {
  CannedFutures c;
  for (absl::Duration timeout : {absl::ZeroDuration(), absl::Seconds(-1)}) {
    auto [done, not_done] = Wait({c.pending, c.successful}, timeout);
    EXPECT_THAT(done, ElementsAre(c.successful));
    EXPECT_THAT(not_done, ElementsAre(c.pending));
  }
}

TEST(WaitTest, PendingCallsRace) {
  // CPython's test_pending_calls_race: 100 tasks block on one event; after it is set,
  // wait(ALL_COMPLETED) must return (no lost completion in the waiter).
  absl::Notification event;
  TaskRunner runner;
  std::vector<Future<int>> fs;
  for (int i = 0; i < 100; ++i) {
    fs.push_back(runner.Run([&event, i] {
      event.WaitForNotificationWithTimeout(kBound);
      return i;
    }));
  }
  event.Notify();
  auto [done, not_done] = Wait(fs, kBound, ReturnWhen::kAllCompleted);
  EXPECT_EQ(done.size(), 100u);
  EXPECT_THAT(not_done, IsEmpty());
}

TEST(WaitTest, EmptyInputReturnsAtOnce) {
  std::vector<Future<int>> none;
  auto [done, not_done] = Wait(none);
  EXPECT_THAT(done, IsEmpty());
  EXPECT_THAT(not_done, IsEmpty());
}

TEST(WaitTest, CancelWakesWaiter) {
  // Deviation 1: cancel() alone wakes Wait (CPython would wait out the full timeout).
  CannedFutures c;
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::thread t([f] { f.Cancel(); });
  auto [done, not_done] = Wait({f}, kBound, ReturnWhen::kAllCompleted);
  t.join();
  EXPECT_THAT(done, ElementsAre(f));
  EXPECT_THAT(not_done, IsEmpty());
}

TEST(WaitTest, AnyFuturesOfMixedTypes) {
  Promise<std::string> ps;
  Promise<void> pv;
  std::vector<AnyFuture> fs = {ps.GetFuture(), pv.GetFuture()};
  std::thread t([&] {
    ps.SetResult("x");
    pv.SetResult();
  });
  auto [done, not_done] = Wait(fs, kBound);
  t.join();
  EXPECT_EQ(done.size(), 2u);
  EXPECT_THAT(not_done, IsEmpty());
}

TEST(WaitTest, MapKeyedByFutures) {
  CannedFutures c;
  absl::flat_hash_map<Future<int>, std::string> future_to_url = {{c.successful, "a"},
                                                                 {c.pending, "b"}};
  auto [done, not_done] = Wait(future_to_url, absl::ZeroDuration());
  EXPECT_THAT(done, ElementsAre(c.successful));
  EXPECT_THAT(not_done, ElementsAre(c.pending));
}

TEST(WaitTest, FirstCompletedIsWokenByCompletion) {
  CannedFutures c;
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::thread t([&p] { p.SetResult(1); });
  auto [done, not_done] = Wait({c.pending, f}, kBound, ReturnWhen::kFirstCompleted);
  t.join();
  EXPECT_THAT(done, ElementsAre(f));
  EXPECT_THAT(not_done, ElementsAre(c.pending));
}

TEST(WaitTest, InvalidReturnWhen) {
  CannedFutures c;
  EXPECT_THROW(Wait({c.pending}, absl::ZeroDuration(), static_cast<ReturnWhen>(42)),
               std::invalid_argument);
}

}  // namespace
}  // namespace cf
