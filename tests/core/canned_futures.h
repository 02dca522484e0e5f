// Test helpers: futures in every state of CPython's test_concurrent_futures/util.py
// (PENDING_FUTURE, RUNNING_FUTURE, CANCELLED_FUTURE, CANCELLED_AND_NOTIFIED_FUTURE,
// EXCEPTION_FUTURE, SUCCESSFUL_FUTURE), built through the public Promise API.
#ifndef CF_TESTS_CORE_CANNED_FUTURES_H_
#define CF_TESTS_CORE_CANNED_FUTURES_H_

#include <exception>
#include <stdexcept>
#include <system_error>

#include "cf/core/future.h"

namespace cf::testing {

// The promises behind CannedFutures; a base class so they are constructed before the futures.
class CannedPromises {
 protected:
  Promise<int> pending_promise_;
  Promise<int> running_promise_;
  Promise<int> cancelled_promise_;
  Promise<int> cancelled_notified_promise_;
  Promise<int> exception_promise_;
  Promise<int> successful_promise_;
};

// Owns the promises so the pending and running futures stay unfinished (a dropped promise
// would break them).
class CannedFutures : private CannedPromises {
 public:
  CannedFutures() {
    running_promise_.SetRunningOrNotifyCancel();
    cancelled = cancelled_promise_.GetFuture();
    cancelled.Cancel();
    cancelled_and_notified = cancelled_notified_promise_.GetFuture();
    cancelled_and_notified.Cancel();
    cancelled_notified_promise_.SetRunningOrNotifyCancel();
    exception_promise_.SetException(
        std::make_exception_ptr(std::system_error(std::make_error_code(std::errc::io_error))));
    successful_promise_.SetResult(42);
  }

  Future<int> pending = pending_promise_.GetFuture();
  Future<int> running = running_promise_.GetFuture();
  Future<int> cancelled;
  Future<int> cancelled_and_notified;
  Future<int> exception = exception_promise_.GetFuture();
  Future<int> successful = successful_promise_.GetFuture();

  Promise<int>& pending_promise() { return pending_promise_; }
  Promise<int>& running_promise() { return running_promise_; }
};

}  // namespace cf::testing

#endif  // CF_TESTS_CORE_CANNED_FUTURES_H_
