// cf/core/errors.h — the exception types of cf, mirroring Python's concurrent.futures.
//
// Every cf error derives from cf::Error, which derives from std::runtime_error, so
// `catch (const std::exception& e)` sees them all and `e.what()` is the message.
//
//   Python                                     C++
//   concurrent.futures.Error                   cf::Error
//   CancelledError                             cf::CancelledError
//   TimeoutError                               cf::TimeoutError
//   InvalidStateError                          cf::InvalidStateError
//   RuntimeError("cannot schedule new ...")    cf::ShutdownError
//   BrokenExecutor / BrokenThreadPool /        cf::BrokenExecutor / cf::BrokenThreadPool /
//   BrokenProcessPool                          cf::BrokenProcessPool
//   (a worker's exception of unknown type)     cf::RemoteError
//   (no Python equivalent)                     cf::BrokenPromise: a Promise died unfulfilled
//
// All types are immutable after construction and safe to share between threads.
#ifndef CF_CORE_ERRORS_H_
#define CF_CORE_ERRORS_H_

#include <stdexcept>
#include <string>

namespace cf {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Result() or Exception() on a cancelled future.
class CancelledError : public Error {
 public:
  CancelledError();
  using Error::Error;
};

// A bounded wait ran out: Future::Result/Exception, AsCompleted and MapResults iteration.
// (Wait() never throws it: it returns what is done.)
class TimeoutError : public Error {
 public:
  TimeoutError();
  using Error::Error;
};

// SetResult/SetException on a future that is already finished or cancelled; the message is
// Python's: "FINISHED: <Future at 0x... state=finished returned int>".
class InvalidStateError : public Error {
 public:
  using Error::Error;
};

// The Promise was destroyed (or its producer vanished) before it set a result or exception.
class BrokenPromise : public Error {
 public:
  BrokenPromise();
  using Error::Error;
};

// Submit() after Shutdown(): "cannot schedule new futures after shutdown".
class ShutdownError : public Error {
 public:
  ShutdownError();
  using Error::Error;
};

// The executor can no longer run work (a failed initializer, a dead worker process).
class BrokenExecutor : public Error {
 public:
  using Error::Error;
};

// A thread initializer threw: "A thread initializer failed, the thread pool is not usable
// anymore".
class BrokenThreadPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
};

// A worker process died or its channel broke; the message names the pid and signal or exit code.
class BrokenProcessPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
};

// An exception from another process whose type cannot be rebuilt here. type_name() is the
// demangled C++ type name of the original; what() is its message.
class RemoteError : public Error {
 public:
  explicit RemoteError(std::string message);
  RemoteError(std::string type_name, const std::string& message);
  const std::string& type_name() const { return type_name_; }

 private:
  std::string type_name_;
};

}  // namespace cf

#endif  // CF_CORE_ERRORS_H_
