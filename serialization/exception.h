// cf/serialization/exception.h — exceptions across processes, and CF_EXCEPTION.
//
// A task's exception travels as an ExceptionInfo: its demangled type name, what(), the pid of the
// process that threw and the task's name (plus, for the std::system_error family, its error code
// and category). RebuildException() turns it back into an exception in the receiving process:
//
//   thrown in the worker                          rethrown in the parent
//   a standard exception type (std::logic_error,  the same type, with the same what()
//     std::out_of_range, std::bad_alloc,          (std::regex_error: a subclass when its what()
//     std::system_error, ios_base::failure,       cannot be rebuilt otherwise)
//     filesystem_error, future_error and
//     regex_error keep their code(), ...)
//   a cf:: error (cf::BrokenProcessPool, ...,     the same type, with the same what()
//     cf::SerializationError; cf::RemoteError
//     keeps its type_name())
//   a type registered with CF_EXCEPTION(Type)     Type, constructed from what()
//   any other std::exception                      cf::RemoteError: type_name() is the demangled
//                                                 type ("my::ParseError"), what() its message
//   something that is not a std::exception        cf::RemoteError("unknown exception");
//     (throw 42;)                                 type_name() is the thrown type ("int")
//
// CF_EXCEPTION(Type), at namespace scope in a .cc file linked into both processes, lets Type
// cross as itself. Type must derive from std::exception, be constructible from std::string and
// return that string from what(). Registering a type twice is harmless; two distinct types with
// one name (in anonymous namespaces of two files) are reported on stderr at start-up and
// arrive as cf::RemoteError.
//
// Thread safety: all functions may be called concurrently; registration normally happens during
// static initialisation.
//
// Example:
//   struct ParseError : std::runtime_error { using std::runtime_error::runtime_error; };
//   CF_EXCEPTION(ParseError);
//   ...
//   // worker:  EncodeException(std::current_exception(), "parse_file", &payload);
//   // parent:  std::rethrow_exception(*cf::DecodeException(payload));   // throws ParseError
#ifndef CF_SERIALIZATION_EXCEPTION_H_
#define CF_SERIALIZATION_EXCEPTION_H_

#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/internal/demangle.h"
#include "cf/serialization/internal/exception_registry.h"

namespace cf {

struct ExceptionInfo {
  std::string type_name;  // demangled dynamic type: "std::out_of_range"
  std::string message;    // what()
  std::int64_t pid = 0;   // the process that threw
  std::string task_name;  // the task that threw; "" if none
  // False when what was thrown is not a std::exception (message is then "unknown exception").
  bool is_std_exception = true;
  // The std::system_error family and std::future_error: code().value() and its category's
  // name(); std::regex_error: code() and "regex".
  std::int64_t error_code = 0;
  std::string error_category;
  // Type-specific extras: cf::RemoteError's type_name(); std::filesystem::filesystem_error's
  // path1 and path2.
  std::string detail;
  std::string detail2;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(type_name, message, pid, task_name, is_std_exception, error_code, error_category,
            detail, detail2);
  }
};

// Describes the exception in `error` (non-null), recording this process's pid and `task_name`.
ExceptionInfo DescribeException(std::exception_ptr error, absl::string_view task_name = "");

// A new exception for `info`, per the table above. Never null.
std::exception_ptr RebuildException(const ExceptionInfo& info);

// True if exceptions named `type_name` are rebuilt as themselves here.
bool IsRebuildableException(absl::string_view type_name);

// OK, or FailedPrecondition naming every CF_EXCEPTION type name claimed by two types.
absl::Status CheckExceptionRegistry();

// Appends the encoded DescribeException(error, task_name) to *out. Does not throw (short of
// memory exhaustion); an exception whose description cannot be taken is sent as
// "unknown exception".
void EncodeException(std::exception_ptr error, absl::string_view task_name, ByteBuffer* out);

// Decodes a kException payload. kDataLoss if the bytes are malformed.
absl::StatusOr<ExceptionInfo> DecodeExceptionInfo(absl::Span<const char> payload);
// Decodes a kException payload and rebuilds the exception.
absl::StatusOr<std::exception_ptr> DecodeException(absl::Span<const char> payload);

namespace internal {

class ExceptionRegistration {
 public:
  template <typename T>
  ExceptionRegistration(T* /*type_tag*/, const char* location) {
    static_assert(std::is_base_of_v<std::exception, T>,
                  "CF_EXCEPTION(Type): Type must derive from std::exception");
    static_assert(std::is_constructible_v<T, std::string>,
                  "CF_EXCEPTION(Type): Type must be constructible from a std::string (its "
                  "what() message)");
    ExceptionRegistry::Global().Add(TypeName(typeid(T)), typeid(T),
                                    &MakeExceptionFromMessage<T>, location);
  }
};

}  // namespace internal
}  // namespace cf

#define CF_INTERNAL_CONCAT_IMPL(a, b) a##b
#define CF_INTERNAL_CONCAT(a, b) CF_INTERNAL_CONCAT_IMPL(a, b)
#define CF_INTERNAL_STRINGIFY_IMPL(x) #x
#define CF_INTERNAL_STRINGIFY(x) CF_INTERNAL_STRINGIFY_IMPL(x)

// Registers an exception type to be rebuilt as itself in other processes. Use at namespace scope.
#define CF_EXCEPTION(...)                                                                   \
  static const ::cf::internal::ExceptionRegistration CF_INTERNAL_CONCAT(                    \
      cf_exception_registration_, __COUNTER__)(static_cast<__VA_ARGS__*>(nullptr),          \
                                               __FILE__ ":" CF_INTERNAL_STRINGIFY(__LINE__))

#endif  // CF_SERIALIZATION_EXCEPTION_H_
