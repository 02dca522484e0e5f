#include "cf/serialization/exception.h"

#include <unistd.h>

#include <exception>
#include <filesystem>
#include <future>
#include <ios>
#include <regex>
#include <string>
#include <system_error>
#include <typeinfo>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "cf/core/errors.h"
#include "cf/serialization/internal/demangle.h"
#include "cf/serialization/internal/exception_registry.h"
#include "cf/serialization/value.h"

namespace cf {
namespace {

// Names of the types rebuilt here rather than through the registry.
const std::string& RemoteErrorName() {
  static const std::string* const name = new std::string(internal::TypeName(typeid(RemoteError)));
  return *name;
}
const std::string& SystemErrorName() {
  static const std::string* const name =
      new std::string(internal::TypeName(typeid(std::system_error)));
  return *name;
}
const std::string& IosFailureName() {
  static const std::string* const name =
      new std::string(internal::TypeName(typeid(std::ios_base::failure)));
  return *name;
}
const std::string& FilesystemErrorName() {
  static const std::string* const name =
      new std::string(internal::TypeName(typeid(std::filesystem::filesystem_error)));
  return *name;
}
const std::string& FutureErrorName() {
  static const std::string* const name =
      new std::string(internal::TypeName(typeid(std::future_error)));
  return *name;
}
const std::string& RegexErrorName() {
  static const std::string* const name =
      new std::string(internal::TypeName(typeid(std::regex_error)));
  return *name;
}
constexpr absl::string_view kRegexCategory = "regex";

// std::regex_error has no constructor taking a message, and libstdc++ throws it with messages
// its public constructor cannot produce; this keeps the type (for catch), code() and what().
class RebuiltRegexError : public std::regex_error {
 public:
  RebuiltRegexError(std::regex_constants::error_type code, std::string message)
      : std::regex_error(code), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// libstdc++ throws this subclass of std::ios_base::failure from basic_ios::clear().
constexpr absl::string_view kLibstdcxxIosFailureName = "std::__ios_failure";

const std::error_category* CategoryNamed(absl::string_view name) {
  if (name == std::generic_category().name()) return &std::generic_category();
  if (name == std::system_category().name()) return &std::system_category();
  if (name == std::iostream_category().name()) return &std::iostream_category();
  if (name == std::future_category().name()) return &std::future_category();
  return nullptr;
}

void RecordCode(const std::error_code& code, ExceptionInfo* info) {
  info->error_code = code.value();
  info->error_category = code.category().name();
}

// The what_arg that made `message` for a std::system_error with `code`: message is
// what_arg + ": " + code.message(), or just code.message().
std::string StripCodeMessage(absl::string_view message, const std::error_code& code,
                             bool* had_what_arg) {
  const std::string suffix = ": " + code.message();
  *had_what_arg = true;
  if (absl::ConsumeSuffix(&message, suffix)) return std::string(message);
  if (message == code.message()) {
    *had_what_arg = false;
    return "";
  }
  return std::string(message);
}

std::exception_ptr RebuildSystemErrorFamily(const ExceptionInfo& info) {
  if (info.type_name == RegexErrorName() && info.error_category == kRegexCategory) {
    const auto code = static_cast<std::regex_constants::error_type>(info.error_code);
    std::regex_error plain(code);
    if (info.message == plain.what()) return std::make_exception_ptr(plain);
    return std::make_exception_ptr(RebuiltRegexError(code, info.message));
  }
  const std::error_category* category = CategoryNamed(info.error_category);
  if (category == nullptr) return nullptr;
  const std::error_code code(static_cast<int>(info.error_code), *category);
  bool had_what_arg = false;
  if (info.type_name == SystemErrorName()) {
    std::string what_arg = StripCodeMessage(info.message, code, &had_what_arg);
    return had_what_arg ? std::make_exception_ptr(std::system_error(code, what_arg))
                        : std::make_exception_ptr(std::system_error(code));
  }
  if (info.type_name == IosFailureName() || info.type_name == kLibstdcxxIosFailureName) {
    std::string what_arg = StripCodeMessage(info.message, code, &had_what_arg);
    return std::make_exception_ptr(std::ios_base::failure(what_arg, code));
  }
  if (info.type_name == FilesystemErrorName()) {
    // libstdc++: "filesystem error: " + what_arg + ": " + code.message() + " [p1]" + " [p2]",
    // with one bracket per path the constructor was given (possibly empty).
    const std::filesystem::path path1(info.detail);
    const std::filesystem::path path2(info.detail2);
    for (int paths = 2; paths >= 0; --paths) {
      absl::string_view rest = info.message;
      absl::ConsumePrefix(&rest, "filesystem error: ");
      if (paths == 2 && !absl::ConsumeSuffix(&rest, absl::StrCat(" [", info.detail2, "]"))) {
        continue;
      }
      if (paths >= 1 && !absl::ConsumeSuffix(&rest, absl::StrCat(" [", info.detail, "]"))) {
        continue;
      }
      const std::string what_arg = StripCodeMessage(rest, code, &had_what_arg);
      std::exception_ptr candidate =
          paths == 2 ? std::make_exception_ptr(
                           std::filesystem::filesystem_error(what_arg, path1, path2, code))
          : paths == 1
              ? std::make_exception_ptr(std::filesystem::filesystem_error(what_arg, path1, code))
              : std::make_exception_ptr(std::filesystem::filesystem_error(what_arg, code));
      try {
        std::rethrow_exception(candidate);
      } catch (const std::exception& e) {
        if (info.message == e.what() || paths == 0) return candidate;
      }
    }
    return nullptr;
  }
  if (info.type_name == FutureErrorName() && category == &std::future_category()) {
    return std::make_exception_ptr(std::future_error(static_cast<std::future_errc>(code.value())));
  }
  return nullptr;
}

}  // namespace

ExceptionInfo DescribeException(std::exception_ptr error, absl::string_view task_name) {
  ExceptionInfo info;
  info.pid = static_cast<std::int64_t>(getpid());
  info.task_name = std::string(task_name);
  if (error == nullptr) {
    info.type_name = "std::nullptr_t";
    info.message = "unknown exception";
    info.is_std_exception = false;
    return info;
  }
  auto fill = [&info](const std::exception& e) {
    info.type_name = internal::TypeName(typeid(e));
    info.message = e.what();
  };
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    fill(e);
    info.detail = e.type_name();
  } catch (const std::filesystem::filesystem_error& e) {
    fill(e);
    RecordCode(e.code(), &info);
    info.detail = e.path1().native();
    info.detail2 = e.path2().native();
  } catch (const std::system_error& e) {
    fill(e);
    RecordCode(e.code(), &info);
  } catch (const std::future_error& e) {
    fill(e);
    RecordCode(e.code(), &info);
  } catch (const std::regex_error& e) {
    fill(e);
    info.error_code = static_cast<std::int64_t>(e.code());
    info.error_category = std::string(kRegexCategory);
  } catch (const std::exception& e) {
    fill(e);
  } catch (...) {
    info.type_name = internal::CurrentExceptionTypeName();
    info.message = "unknown exception";
    info.is_std_exception = false;
  }
  return info;
}

std::exception_ptr RebuildException(const ExceptionInfo& info) {
  if (!info.is_std_exception) {
    return std::make_exception_ptr(RemoteError(info.type_name, "unknown exception"));
  }
  if (info.type_name == RemoteErrorName()) {
    return std::make_exception_ptr(RemoteError(info.detail, info.message));
  }
  if (!info.error_category.empty()) {
    if (std::exception_ptr rebuilt = RebuildSystemErrorFamily(info)) return rebuilt;
  }
  if (std::exception_ptr rebuilt =
          internal::ExceptionRegistry::Global().Make(info.type_name, info.message)) {
    return rebuilt;
  }
  return std::make_exception_ptr(RemoteError(info.type_name, info.message));
}

bool IsRebuildableException(absl::string_view type_name) {
  return type_name == RemoteErrorName() || type_name == SystemErrorName() ||
         type_name == IosFailureName() || type_name == kLibstdcxxIosFailureName ||
         type_name == FilesystemErrorName() || type_name == FutureErrorName() ||
         type_name == RegexErrorName() ||
         internal::ExceptionRegistry::Global().Contains(type_name);
}

absl::Status CheckExceptionRegistry() { return internal::ExceptionRegistry::Global().status(); }

void EncodeException(std::exception_ptr error, absl::string_view task_name, ByteBuffer* out) {
  const size_t old_size = out->size();
  ExceptionInfo info;
  try {
    info = DescribeException(std::move(error), task_name);
  } catch (...) {
    info = ExceptionInfo();
    info.pid = static_cast<std::int64_t>(getpid());
    info.type_name = "unknown";
    info.message = "unknown exception";
    info.is_std_exception = false;
  }
  out->ResizeUninitialized(old_size);
  EncodeTo(out, info);
}

absl::StatusOr<ExceptionInfo> DecodeExceptionInfo(absl::Span<const char> payload) {
  return Decode<ExceptionInfo>(payload);
}

absl::StatusOr<std::exception_ptr> DecodeException(absl::Span<const char> payload) {
  absl::StatusOr<ExceptionInfo> info = DecodeExceptionInfo(payload);
  if (!info.ok()) return info.status();
  return RebuildException(*info);
}

}  // namespace cf
