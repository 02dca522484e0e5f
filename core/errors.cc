#include "core/errors.h"

#include <string>
#include <utility>

namespace cf {

CancelledError::CancelledError() : Error("the future was cancelled") {}

TimeoutError::TimeoutError() : Error("timed out waiting for the future") {}

BrokenPromise::BrokenPromise()
    : Error("broken promise: the Promise was destroyed before it set a result or exception") {}

ShutdownError::ShutdownError() : Error("cannot schedule new futures after shutdown") {}

TaskTimeoutError::TaskTimeoutError(std::string message, int pid)
    : TimeoutError(std::move(message)), pid_(pid) {}

WorkerDiedError::WorkerDiedError(std::string message, int pid, int signal, int exit_code,
                                 int deaths)
    : BrokenProcessPool(std::move(message)),
      pid_(pid),
      signal_(signal),
      exit_code_(exit_code),
      deaths_(deaths) {}

RemoteError::RemoteError(std::string message) : Error(std::move(message)) {}

RemoteError::RemoteError(std::string type_name, const std::string& message)
    : Error(message), type_name_(std::move(type_name)) {}

}  // namespace cf
