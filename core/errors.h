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
//   (pebble's TimeoutError)                    cf::TaskTimeoutError: a task ran past its
//                                              TaskOptions::timeout and its worker was ended
//   (Ray's WorkerCrashedError)                 cf::WorkerDiedError: the worker running a call
//                                              died (WorkerDeath::kFailTask / kRetryTask)
//
// All types are immutable after construction and safe to share between threads.
#ifndef CF_CORE_ERRORS_H_
#define CF_CORE_ERRORS_H_

#include <stdexcept>
#include <string>
#include <utility>

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

// A process-pool task ran longer than its TaskOptions::timeout (or a Map chunk longer than
// MapOptions::chunk_timeout), counted from when it turned running; its worker was sent SIGTERM
// (then SIGKILL) and replaced. The message names the task, the timeout and the worker's pid.
class TaskTimeoutError : public TimeoutError {
 public:
  explicit TaskTimeoutError(std::string message, int pid = 0);
  int pid() const { return pid_; }

 private:
  int pid_;
};

// The worker process that held a call died (WorkerDeath::kFailTask), or killed its worker
// more times than Options::max_retries allows (WorkerDeath::kRetryTask). pid() is the last
// worker's pid; signal() the signal that ended it (0 if it exited), exit_code() its exit status
// (-1 if a signal ended it); deaths() how many workers the call was on when they died.
class WorkerDiedError : public BrokenProcessPool {
 public:
  WorkerDiedError(std::string message, int pid, int signal, int exit_code, int deaths);
  explicit WorkerDiedError(std::string message)
      : WorkerDiedError(std::move(message), 0, 0, -1, 1) {}
  int pid() const { return pid_; }
  int signal() const { return signal_; }
  int exit_code() const { return exit_code_; }
  int deaths() const { return deaths_; }

 private:
  int pid_;
  int signal_;
  int exit_code_;
  int deaths_;
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
