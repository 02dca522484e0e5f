// Result() on an rvalue future returns the value itself (docs/semantics.md §1.5): moved out of
// the shared state when the handle is the last one, copied otherwise, so a temporary future's
// result cannot dangle; on an lvalue it stays a const reference. Move-only results are taken
// with std::move(f).Result().
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

constexpr absl::Duration kBound = absl::Seconds(30);

// Before: the reference pointed into the shared state that the temporary future freed at the
// end of the full-expression (ASan: heap-use-after-free).
TEST(ResultByValueTest, ReferenceToATemporaryFuturesResult) {
  const std::string& s = MakeReadyFuture<std::string>(std::string(1000, 'x')).Result();
  EXPECT_EQ(s, std::string(1000, 'x'));
}

TEST(ResultByValueTest, RangeForOverATemporaryFuturesResult) {
  int sum = 0;
  for (int v : MakeReadyFuture<std::vector<int>>(std::vector<int>{1, 2, 3, 4}).Result()) sum += v;
  EXPECT_EQ(sum, 10);
}

TEST(ResultByValueTest, LvalueReturnsAReferenceRvalueAValue) {
  static_assert(std::is_same_v<decltype(std::declval<Future<std::string>&>().Result()),
                               const std::string&>);
  static_assert(std::is_same_v<decltype(std::declval<const Future<std::string>&>().Result()),
                               const std::string&>);
  static_assert(std::is_same_v<decltype(std::declval<Future<std::string>>().Result()),
                               std::string>);
  static_assert(std::is_same_v<decltype(std::declval<Future<void>&>().Result()), void>);
  static_assert(std::is_same_v<decltype(std::declval<Future<void>>().Result()), void>);
  Future<std::string> f = MakeReadyFuture<std::string>("abc");
  EXPECT_EQ(&f.Result(), &f.Result());  // the same object in the shared state
  MakeReadyFuture<void>().Result();
  Future<void> v = MakeReadyFuture<void>();
  std::move(v).Result();
  std::move(v).Result();  // nothing to take: void can be read again
  EXPECT_TRUE(v.valid());
}

// Counts how a value was passed along.
struct Counted {
  explicit Counted(int v) : value(v) {}
  Counted(const Counted& other) : value(other.value), copies(other.copies + 1) {}
  Counted(Counted&& other) noexcept : value(other.value), copies(other.copies) {
    other.value = -1;  // moved from
  }
  int value;
  int copies = 0;
};

TEST(ResultByValueTest, CopiedWhileOtherHandlesRemainMovedFromTheLast) {
  Promise<Counted> p;
  Future<Counted> f = p.GetFuture();
  Future<Counted> g = f;
  AnyFuture any = f;
  p.SetResult(Counted(5));
  Counted a = std::move(f).Result();  // g and any share it: copied
  EXPECT_EQ(a.value, 5);
  EXPECT_EQ(a.copies, 1);
  EXPECT_EQ(f.Result().value, 5);  // the handle stays valid; nothing was taken
  f = Future<Counted>();
  Counted b = std::move(g).Result();  // `any` still shares it
  EXPECT_EQ(b.copies, 1);
  any = AnyFuture();
  // g is now the last handle; the promise, which never reads the value, does not count.
  ASSERT_TRUE(p.valid());
  Counted c = std::move(g).Result();
  EXPECT_EQ(c.value, 5);
  EXPECT_EQ(c.copies, 0);
}

TEST(ResultByValueTest, AMovedOutValueIsGoneForEveryHandle) {
  Promise<std::string> p;
  Future<std::string> f = p.GetFuture();
  p.SetResult(std::string(100, 'v'));
  EXPECT_EQ(std::move(f).Result(), std::string(100, 'v'));
  EXPECT_TRUE(f.valid());
  EXPECT_TRUE(f.Done());
  EXPECT_EQ(f.Exception(), nullptr);
  EXPECT_THAT([&] { f.Result(); }, ::testing::ThrowsMessage<InvalidStateError>(
                                       ::testing::HasSubstr("was moved out by an earlier Result() "
                                                            "on an rvalue handle")));
  EXPECT_THROW(std::move(f).Result(), InvalidStateError);
  // A handle made afterwards sees it too.
  EXPECT_THROW(p.GetFuture().Result(), InvalidStateError);
  EXPECT_THROW(std::move(f).Result(), InvalidStateError);
}

TEST(ResultByValueTest, ExceptionsTimeoutsAndCancellationTakeNothing) {
  Promise<std::string> p;
  Future<std::string> f = p.GetFuture();
  EXPECT_THROW(std::move(f).Result(absl::ZeroDuration()), TimeoutError);
  p.SetResult("late");
  EXPECT_EQ(std::move(f).Result(), "late");
  Future<std::string> failed =
      MakeExceptionalFuture<std::string>(std::make_exception_ptr(std::out_of_range("x")));
  EXPECT_THROW(std::move(failed).Result(), std::out_of_range);
  EXPECT_THROW(std::move(failed).Result(), std::out_of_range);
  Promise<std::string> q;
  Future<std::string> cancelled = q.GetFuture();
  cancelled.Cancel();
  EXPECT_THROW(std::move(cancelled).Result(), CancelledError);
}

// Done-callbacks read the value before an rvalue Result() in another thread may move it out.
TEST(ResultByValueTest, CallbacksReadTheValueBeforeItIsMovedOut) {
  Promise<std::string> p;
  Future<std::string> f = p.GetFuture();
  absl::Notification in_callback;
  absl::Notification release;
  std::string seen_by_callback;
  f.AddDoneCallback([&](const Future<std::string>& g) {
    in_callback.Notify();
    release.WaitForNotificationWithTimeout(kBound);
    seen_by_callback = g.Result();
  });
  std::thread producer([&p] { p.SetResult(std::string(50, 'c')); });
  ASSERT_TRUE(in_callback.WaitForNotificationWithTimeout(kBound));
  std::string taken;
  std::thread consumer([&] { taken = std::move(f).Result(); });
  release.Notify();
  consumer.join();
  producer.join();
  EXPECT_EQ(seen_by_callback, std::string(50, 'c'));
  EXPECT_EQ(taken, std::string(50, 'c'));
}

// A callback's own handle counts: moving from a copy of it inside the callback copies.
TEST(ResultByValueTest, RvalueResultInsideACallbackCopies) {
  Promise<Counted> p;
  int copies = -1;
  {
    Future<Counted> f = p.GetFuture();
    f.AddDoneCallback([&](const Future<Counted>& g) {
      Future<Counted> mine = g;
      copies = std::move(mine).Result().copies;
    });
  }
  p.SetResult(Counted(1));
  EXPECT_EQ(copies, 1);
}

// Before: std::move(f).Result() chose the const& overload, and a std::unique_ptr cannot be
// copied from it (a compile error).
TEST(ResultByValueTest, MoveOnlyResultIsHandedOverByTheLastHandle) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.GetFuture();
  p.SetResult(std::make_unique<int>(9));
  EXPECT_EQ(*f.Result(), 9);  // an lvalue still reads it in place
  std::unique_ptr<int> taken = std::move(f).Result();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 9);
  EXPECT_THROW(f.Result(), InvalidStateError);
  std::unique_ptr<int> direct =
      MakeReadyFuture<std::unique_ptr<int>>(std::make_unique<int>(3)).Result();
  EXPECT_EQ(*direct, 3);
}

TEST(ResultByValueTest, MoveOnlyResultWithOtherHandlesIsRefused) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.GetFuture();
  Future<std::unique_ptr<int>> g = f;
  AnyFuture any = f;
  p.SetResult(std::make_unique<int>(4));
  EXPECT_THAT([&] { std::unique_ptr<int> v = std::move(f).Result(); },
              ::testing::ThrowsMessage<InvalidStateError>(::testing::HasSubstr(
                  "Result() on an rvalue Future<T> of a move-only T needs the last handle: 2 "
                  "other handles share this future; std::move them all, or read it with "
                  "Result() on an lvalue (a const reference)")));
  EXPECT_EQ(*g.Result(), 4);  // nothing was taken
  g = Future<std::unique_ptr<int>>();
  EXPECT_THAT([&] { std::unique_ptr<int> v = std::move(f).Result(); },
              ::testing::ThrowsMessage<InvalidStateError>(
                  ::testing::HasSubstr("needs the last handle: 1 other handle shares")));
  any = AnyFuture();
  EXPECT_EQ(*std::move(f).Result(), 4);
}

TEST(ResultByValueTest, MoveOnlyResultWaitsForCallbacksInOtherThreads) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.GetFuture();
  absl::Notification in_callback;
  absl::Notification release;
  int seen_by_callback = 0;
  f.AddDoneCallback([&](const Future<std::unique_ptr<int>>& g) {
    in_callback.Notify();
    release.WaitForNotificationWithTimeout(kBound);
    seen_by_callback = *g.Result();
  });
  std::thread producer([&p] { p.SetResult(std::make_unique<int>(8)); });
  ASSERT_TRUE(in_callback.WaitForNotificationWithTimeout(kBound));
  std::unique_ptr<int> taken;
  std::thread consumer([&] { taken = std::move(f).Result(); });
  release.Notify();
  consumer.join();
  producer.join();
  EXPECT_EQ(seen_by_callback, 8);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 8);
}

}  // namespace
}  // namespace cf
