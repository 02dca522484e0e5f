// Port of CPython's Lib/test/test_concurrent_futures/test_future.py (docs/semantics.md §1) plus the
// C++-specific behaviours of cf::Future / cf::Promise (BrokenPromise, void and move-only
// results, AnyFuture, hashing, the callback-exception handler).
#include "cf/core/future.h"

#include <atomic>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/canned_futures.h"

namespace cf {
namespace {

using ::cf::testing::CannedFutures;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr absl::Duration kShortTimeout = absl::Seconds(30);

std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

// Captures what the process-wide callback-exception handler receives during a test.
class CallbackErrors {
 public:
  CallbackErrors() {
    previous_ = SetCallbackExceptionHandler(
        [this](const AnyFuture& f, std::exception_ptr e) {
          absl::MutexLock lock(&mu_);
          lines_.push_back("exception calling callback for " + f.DebugString() + ": " +
                           WhatOf(e));
        });
  }
  ~CallbackErrors() { SetCallbackExceptionHandler(previous_); }
  std::vector<std::string> lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  CallbackExceptionHandler previous_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(FutureTest, DoneCallbackWithResult) {
  Promise<int> p;
  int callback_result = 0;
  p.GetFuture().AddDoneCallback([&](const Future<int>& f) { callback_result = f.Result(); });
  p.SetResult(5);
  EXPECT_EQ(callback_result, 5);
}

TEST(FutureTest, DoneCallbackWithException) {
  Promise<int> p;
  std::string callback_what;
  p.GetFuture().AddDoneCallback(
      [&](const Future<int>& f) { callback_what = WhatOf(f.Exception()); });
  p.SetException(std::make_exception_ptr(std::runtime_error("test")));
  EXPECT_EQ(callback_what, "test");
}

TEST(FutureTest, DoneCallbackWithCancel) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  bool was_cancelled = false;
  f.AddDoneCallback([&](const Future<int>& g) { was_cancelled = g.Cancelled(); });
  EXPECT_TRUE(f.Cancel());
  EXPECT_TRUE(was_cancelled);
}

TEST(FutureTest, DoneCallbackRaises) {
  CallbackErrors errors;
  Promise<int> p;
  Future<int> f = p.GetFuture();
  bool raising_was_called = false;
  bool fn_was_called = false;
  f.AddDoneCallback([&](const Future<int>&) {
    raising_was_called = true;
    throw std::runtime_error("doh!");
  });
  f.AddDoneCallback([&](const Future<int>&) { fn_was_called = true; });
  p.SetResult(5);
  EXPECT_TRUE(raising_was_called);
  EXPECT_TRUE(fn_was_called);
  ASSERT_EQ(errors.lines().size(), 1u);
  EXPECT_THAT(errors.lines()[0], HasSubstr("doh!"));
}

TEST(FutureTest, DoneCallbacksRunInRegistrationOrder) {
  Promise<int> p;
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) {
    p.GetFuture().AddDoneCallback([&order, i](const Future<int>&) { order.push_back(i); });
  }
  p.SetResult(1);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(FutureTest, DoneCallbackRunsInCompletingThread) {
  Promise<int> p;
  std::thread::id callback_thread;
  p.GetFuture().AddDoneCallback(
      [&](const Future<int>&) { callback_thread = std::this_thread::get_id(); });
  std::thread::id completer;
  std::thread t([&] {
    completer = std::this_thread::get_id();
    p.SetResult(1);
  });
  t.join();
  EXPECT_EQ(callback_thread, completer);
}

TEST(FutureTest, DoneCallbackAlreadySuccessful) {
  Promise<int> p;
  p.SetResult(5);
  int callback_result = 0;
  p.GetFuture().AddDoneCallback([&](const Future<int>& f) { callback_result = f.Result(); });
  EXPECT_EQ(callback_result, 5);
}

TEST(FutureTest, DoneCallbackAlreadyFailed) {
  Promise<int> p;
  p.SetException(std::make_exception_ptr(std::runtime_error("test")));
  std::string callback_what;
  p.GetFuture().AddDoneCallback(
      [&](const Future<int>& f) { callback_what = WhatOf(f.Exception()); });
  EXPECT_EQ(callback_what, "test");
}

TEST(FutureTest, DoneCallbackAlreadyCancelled) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  EXPECT_TRUE(f.Cancel());
  bool was_cancelled = false;
  f.AddDoneCallback([&](const Future<int>& g) { was_cancelled = g.Cancelled(); });
  EXPECT_TRUE(was_cancelled);
}

TEST(FutureTest, DoneCallbackRaisesAlreadySucceeded) {
  CallbackErrors errors;
  Promise<int> p;
  p.SetResult(5);
  EXPECT_NO_THROW(p.GetFuture().AddDoneCallback(
      [](const Future<int>&) { throw std::runtime_error("doh!"); }));
  ASSERT_EQ(errors.lines().size(), 1u);
  EXPECT_THAT(errors.lines()[0], MatchesRegex("exception calling callback for <Future at "
                                              "0x[0-9a-f]+ state=finished returned int>: doh!"));
}

TEST(FutureTest, DefaultCallbackExceptionHandlerWritesToStderr) {
  Promise<int> p;
  p.SetResult(5);
  ::testing::internal::CaptureStderr();
  p.GetFuture().AddDoneCallback([](const Future<int>&) { throw std::runtime_error("doh!"); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, MatchesRegex("exception calling callback for <Future at 0x[0-9a-f]+ "
                                "state=finished returned int>: doh!\n"));
}

TEST(FutureTest, CancelTwiceRunsCallbacksOnce) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  int calls = 0;
  f.AddDoneCallback([&](const Future<int>&) { ++calls; });
  EXPECT_TRUE(f.Cancel());
  EXPECT_TRUE(f.Cancel());
  EXPECT_EQ(calls, 1);
}

TEST(FutureTest, Repr) {
  CannedFutures c;
  EXPECT_THAT(c.pending.DebugString(), MatchesRegex("<Future at 0x[0-9a-f]+ state=pending>"));
  EXPECT_THAT(c.running.DebugString(), MatchesRegex("<Future at 0x[0-9a-f]+ state=running>"));
  EXPECT_THAT(c.cancelled.DebugString(),
              MatchesRegex("<Future at 0x[0-9a-f]+ state=cancelled>"));
  EXPECT_THAT(c.cancelled_and_notified.DebugString(),
              MatchesRegex("<Future at 0x[0-9a-f]+ state=cancelled>"));
  EXPECT_THAT(c.exception.DebugString(),
              MatchesRegex("<Future at 0x[0-9a-f]+ state=finished raised std::system_error>"));
  EXPECT_THAT(c.successful.DebugString(),
              MatchesRegex("<Future at 0x[0-9a-f]+ state=finished returned int>"));
}

TEST(FutureTest, ReprNamesTypes) {
  EXPECT_THAT(MakeReadyFuture<std::string>("x").DebugString(),
              MatchesRegex("<Future at 0x[0-9a-f]+ state=finished returned std::string>"));
  EXPECT_THAT(MakeReadyFuture<void>().DebugString(),
              MatchesRegex("<Future at 0x[0-9a-f]+ state=finished returned void>"));
  EXPECT_THAT(
      MakeExceptionalFuture<int>(std::make_exception_ptr(std::invalid_argument("x")))
          .DebugString(),
      MatchesRegex("<Future at 0x[0-9a-f]+ state=finished raised std::invalid_argument>"));
  EXPECT_EQ(Future<int>().DebugString(), "<Future invalid>");
}

TEST(FutureTest, Cancel) {
  CannedFutures c;
  EXPECT_TRUE(c.pending.Cancel());
  EXPECT_EQ(c.pending.state(), FutureState::kCancelled);
  EXPECT_FALSE(c.running.Cancel());
  EXPECT_EQ(c.running.state(), FutureState::kRunning);
  EXPECT_TRUE(c.cancelled.Cancel());
  EXPECT_EQ(c.cancelled.state(), FutureState::kCancelled);
  EXPECT_TRUE(c.cancelled_and_notified.Cancel());
  EXPECT_EQ(c.cancelled_and_notified.state(), FutureState::kCancelled);
  EXPECT_FALSE(c.exception.Cancel());
  EXPECT_EQ(c.exception.state(), FutureState::kFinished);
  EXPECT_FALSE(c.successful.Cancel());
  EXPECT_EQ(c.successful.state(), FutureState::kFinished);
}

TEST(FutureTest, Cancelled) {
  CannedFutures c;
  EXPECT_FALSE(c.pending.Cancelled());
  EXPECT_FALSE(c.running.Cancelled());
  EXPECT_TRUE(c.cancelled.Cancelled());
  EXPECT_TRUE(c.cancelled_and_notified.Cancelled());
  EXPECT_FALSE(c.exception.Cancelled());
  EXPECT_FALSE(c.successful.Cancelled());
}

TEST(FutureTest, Done) {
  CannedFutures c;
  EXPECT_FALSE(c.pending.Done());
  EXPECT_FALSE(c.running.Done());
  EXPECT_TRUE(c.cancelled.Done());
  EXPECT_TRUE(c.cancelled_and_notified.Done());
  EXPECT_TRUE(c.exception.Done());
  EXPECT_TRUE(c.successful.Done());
}

TEST(FutureTest, Running) {
  CannedFutures c;
  EXPECT_FALSE(c.pending.Running());
  EXPECT_TRUE(c.running.Running());
  EXPECT_FALSE(c.cancelled.Running());
  EXPECT_FALSE(c.cancelled_and_notified.Running());
  EXPECT_FALSE(c.exception.Running());
  EXPECT_FALSE(c.successful.Running());
}

TEST(FutureTest, ResultWithTimeout) {
  CannedFutures c;
  EXPECT_THROW(c.pending.Result(absl::ZeroDuration()), TimeoutError);
  EXPECT_THROW(c.running.Result(absl::ZeroDuration()), TimeoutError);
  EXPECT_THROW(c.cancelled.Result(absl::ZeroDuration()), CancelledError);
  EXPECT_THROW(c.cancelled_and_notified.Result(absl::ZeroDuration()), CancelledError);
  EXPECT_THROW(c.exception.Result(absl::ZeroDuration()), std::system_error);
  EXPECT_EQ(c.successful.Result(absl::ZeroDuration()), 42);
}

TEST(FutureTest, NegativeTimeoutChecksNow) {
  CannedFutures c;
  const absl::Time start = absl::Now();
  EXPECT_THROW(c.pending.Result(absl::Seconds(-1)), TimeoutError);
  EXPECT_THROW(c.pending.Exception(absl::Seconds(-1)), TimeoutError);
  EXPECT_FALSE(c.pending.Wait(absl::Seconds(-1)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(c.successful.Result(absl::Seconds(-1)), 42);
}

TEST(FutureTest, ResultWithSuccess) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  absl::Notification waiting;
  std::thread t([&] {
    waiting.WaitForNotificationWithTimeout(kShortTimeout);
    p.SetResult(42);
  });
  waiting.Notify();
  EXPECT_EQ(f.Result(kShortTimeout), 42);
  t.join();
}

TEST(FutureTest, ResultWithCancel) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::thread t([f] { f.Cancel(); });
  EXPECT_THROW(f.Result(kShortTimeout), CancelledError);
  t.join();
}

TEST(FutureTest, ExceptionWithTimeout) {
  CannedFutures c;
  EXPECT_THROW(c.pending.Exception(absl::ZeroDuration()), TimeoutError);
  EXPECT_THROW(c.running.Exception(absl::ZeroDuration()), TimeoutError);
  EXPECT_THROW(c.cancelled.Exception(absl::ZeroDuration()), CancelledError);
  EXPECT_THROW(c.cancelled_and_notified.Exception(absl::ZeroDuration()), CancelledError);
  std::exception_ptr e = c.exception.Exception(absl::ZeroDuration());
  ASSERT_NE(e, nullptr);
  EXPECT_THROW(std::rethrow_exception(e), std::system_error);
  EXPECT_EQ(c.successful.Exception(absl::ZeroDuration()), nullptr);
}

TEST(FutureTest, ExceptionWithSuccess) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::thread t([&] {
    p.SetException(std::make_exception_ptr(
        std::system_error(std::make_error_code(std::errc::io_error))));
  });
  std::exception_ptr e = f.Exception(kShortTimeout);
  t.join();
  EXPECT_THROW(std::rethrow_exception(e), std::system_error);
}

TEST(FutureTest, MultipleSetResult) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  p.SetResult(1);
  try {
    p.SetResult(2);
    FAIL() << "expected InvalidStateError";
  } catch (const InvalidStateError& e) {
    EXPECT_THAT(e.what(), MatchesRegex("FINISHED: <Future at 0x[0-9a-f]+ state=finished "
                                       "returned int>"));
  }
  EXPECT_TRUE(f.Done());
  EXPECT_EQ(f.Result(), 1);
}

TEST(FutureTest, MultipleSetException) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::exception_ptr e = std::make_exception_ptr(std::invalid_argument("v"));
  p.SetException(e);
  try {
    p.SetException(std::make_exception_ptr(std::runtime_error("second")));
    FAIL() << "expected InvalidStateError";
  } catch (const InvalidStateError& err) {
    EXPECT_THAT(err.what(), MatchesRegex("FINISHED: <Future at 0x[0-9a-f]+ state=finished "
                                         "raised std::invalid_argument>"));
  }
  EXPECT_EQ(f.Exception(), e);
}

TEST(FutureTest, SetResultOnCancelledIsInvalidState) {
  Promise<int> p;
  p.GetFuture().Cancel();
  try {
    p.SetResult(1);
    FAIL() << "expected InvalidStateError";
  } catch (const InvalidStateError& e) {
    EXPECT_THAT(e.what(), MatchesRegex("CANCELLED: <Future at 0x[0-9a-f]+ state=cancelled>"));
  }
  EXPECT_TRUE(p.SetRunningOrNotifyCancel() == false);
  try {
    p.SetException(std::make_exception_ptr(std::runtime_error("x")));
    FAIL() << "expected InvalidStateError";
  } catch (const InvalidStateError& e) {
    EXPECT_THAT(e.what(), MatchesRegex("CANCELLED_AND_NOTIFIED: <Future at 0x[0-9a-f]+ "
                                       "state=cancelled>"));
  }
}

TEST(FutureTest, SetRunningOrNotifyCancel) {
  Promise<int> pending;
  EXPECT_TRUE(pending.SetRunningOrNotifyCancel());
  EXPECT_TRUE(pending.GetFuture().Running());
  // A second call (running) is a state error, as is a call on a finished future.
  EXPECT_THROW(pending.SetRunningOrNotifyCancel(), InvalidStateError);
  pending.SetResult(1);
  EXPECT_THROW(pending.SetRunningOrNotifyCancel(), InvalidStateError);

  Promise<int> cancelled;
  cancelled.GetFuture().Cancel();
  EXPECT_FALSE(cancelled.SetRunningOrNotifyCancel());
  EXPECT_TRUE(cancelled.GetFuture().Cancelled());
  EXPECT_THROW(cancelled.SetRunningOrNotifyCancel(), InvalidStateError);
}

TEST(FutureTest, SetResultWithoutRunningIsLegal) {
  Promise<int> p;
  p.SetResult(3);
  EXPECT_EQ(p.GetFuture().Result(), 3);
}

TEST(FutureTest, NullExceptionIsRejected) {
  Promise<int> p;
  EXPECT_THROW(p.SetException(nullptr), std::invalid_argument);
  EXPECT_FALSE(p.GetFuture().Done());
}

TEST(FutureTest, BrokenPromiseWhenPromiseDiesUnfulfilled) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.GetFuture();
  }
  EXPECT_TRUE(f.Done());
  EXPECT_THROW(f.Result(), BrokenPromise);
  EXPECT_THAT(f.DebugString(), HasSubstr("raised cf::BrokenPromise"));
}

TEST(FutureTest, BrokenPromiseWakesBlockedWaiter) {
  auto p = std::make_unique<Promise<int>>();
  Future<int> f = p->GetFuture();
  std::thread t([&] { p.reset(); });
  EXPECT_THROW(f.Result(kShortTimeout), BrokenPromise);
  t.join();
}

TEST(FutureTest, CancelledFutureStaysCancelledWhenPromiseDies) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.GetFuture();
    f.Cancel();
  }
  EXPECT_TRUE(f.Cancelled());
}

TEST(FutureTest, MovedPromiseKeepsTheFuture) {
  Promise<int> a;
  Future<int> f = a.GetFuture();
  Promise<int> b = std::move(a);
  EXPECT_FALSE(f.Done());
  b.SetResult(7);
  EXPECT_EQ(f.Result(), 7);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_THROW(a.GetFuture(), std::logic_error);
}

TEST(FutureTest, VoidFuture) {
  Promise<void> p;
  Future<void> f = p.GetFuture();
  bool called = false;
  f.AddDoneCallback([&](const Future<void>& g) {
    g.Result();
    called = true;
  });
  p.SetResult();
  f.Result();
  EXPECT_TRUE(called);
  EXPECT_TRUE(f.Done());
}

TEST(FutureTest, MoveOnlyResult) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.GetFuture();
  p.SetResult(std::make_unique<int>(9));
  ASSERT_NE(f.Result(), nullptr);
  EXPECT_EQ(*f.Result(), 9);
}

TEST(FutureTest, ResultReferenceOutlivesOtherHandles) {
  Future<std::string> f;
  {
    Promise<std::string> p;
    f = p.GetFuture();
    p.SetResult(std::string(1000, 'x'));
  }
  const std::string& r = f.Result();
  EXPECT_EQ(r.size(), 1000u);
}

TEST(FutureTest, InvalidFutureThrowsLogicError) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW(f.Done(), std::logic_error);
  EXPECT_THROW(f.Result(), std::logic_error);
  AnyFuture a;
  EXPECT_THROW(a.Cancel(), std::logic_error);
}

TEST(FutureTest, IdentityEqualityAndHash) {
  Promise<int> p1, p2;
  Future<int> a = p1.GetFuture(), b = p1.GetFuture(), c = p2.GetFuture();
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  absl::flat_hash_map<Future<int>, std::string> names;
  names[a] = "first";
  names[c] = "second";
  EXPECT_EQ(names[b], "first");
  EXPECT_EQ(std::hash<Future<int>>()(a), std::hash<Future<int>>()(b));
  EXPECT_EQ(AnyFuture(a), AnyFuture(b));
}

TEST(FutureTest, AnyFuture) {
  Promise<std::string> p;
  AnyFuture any = p.GetFuture();
  EXPECT_FALSE(any.Done());
  std::string seen;
  any.AddDoneCallback([&](const AnyFuture& f) { seen = f.As<std::string>().Result(); });
  p.SetResult("hello");
  EXPECT_EQ(seen, "hello");
  EXPECT_TRUE(any.Done());
  EXPECT_EQ(any.state(), FutureState::kFinished);
  EXPECT_EQ(any.Exception(), nullptr);
  EXPECT_EQ(any.As<std::string>().Result(), "hello");
  EXPECT_THROW(any.As<int>(), std::invalid_argument);
  EXPECT_THAT(any.DebugString(), HasSubstr("returned std::string"));
}

TEST(FutureTest, ConcurrentResultWaitersAllWake) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  std::atomic<int> woke{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([f, &woke] {
      if (f.Result(kShortTimeout) == 11) woke.fetch_add(1);
    });
  }
  p.SetResult(11);
  for (auto& t : threads) t.join();
  EXPECT_EQ(woke.load(), 8);
}

}  // namespace
}  // namespace cf
