// cf/core/internal/state_text.h — names and messages for futures: demangled type names, what a
// stored exception says, and where exceptions that no future can carry are reported.
//
// Not part of the public API. Defined in state_text.cc, except the Report functions, which
// live with the handler they call (cf/core/future.cc: cf::SetCallbackExceptionHandler).
#ifndef CF_CORE_INTERNAL_STATE_TEXT_H_
#define CF_CORE_INTERNAL_STATE_TEXT_H_

#include <exception>
#include <string>
#include <typeinfo>

namespace cf {

class AnyFuture;

namespace internal {

// Demangled C++ type names for DebugString(): "int", "std::string", "std::invalid_argument".
std::string DemangledName(const std::type_info& type);
// The dynamic type name of a stored exception ("unknown exception" for a non-std type).
std::string ExceptionTypeName(const std::exception_ptr& error);
// what() of a stored exception, or a placeholder for non-std types.
std::string ExceptionMessage(const std::exception_ptr& error);

// Hands an exception thrown by a done-callback to the process-wide handler (see
// cf::SetCallbackExceptionHandler in future.h).
void ReportCallbackException(const AnyFuture& future, std::exception_ptr error);
// The same for work that has no future (ThreadPoolExecutor::Post): the handler gets an invalid
// AnyFuture; the default one prints "exception in <origin>: <what>".
void ReportDetachedException(std::exception_ptr error, const char* origin);

}  // namespace internal
}  // namespace cf

#endif  // CF_CORE_INTERNAL_STATE_TEXT_H_
