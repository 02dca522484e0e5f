// Exceptions across processes: every standard type, cf's errors, CF_EXCEPTION types, unknown
// types, non-exceptions, and malformed exception payloads.
#include "cf/serialization/exception.h"

#include <unistd.h>

#include <any>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <variant>

#include "absl/status/status.h"
#include "cf/core/errors.h"
#include "cf/serialization/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace my_app {
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct NotRegisteredError : std::logic_error {
  using std::logic_error::logic_error;
};
class ExplicitError : public std::exception {  // not derived from runtime_error
 public:
  explicit ExplicitError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};
}  // namespace my_app

CF_EXCEPTION(my_app::ParseError);
CF_EXCEPTION(my_app::ExplicitError);
CF_EXCEPTION(my_app::ParseError);  // twice: harmless

namespace {

using ::testing::HasSubstr;

// Sends `error` through bytes, as from a worker running task "task", and rethrows the result.
std::exception_ptr CrossProcess(std::exception_ptr error) {
  cf::ByteBuffer payload;
  cf::EncodeException(error, "task", &payload);
  absl::StatusOr<std::exception_ptr> rebuilt = cf::DecodeException(payload);
  EXPECT_TRUE(rebuilt.ok()) << rebuilt.status();
  return rebuilt.ok() ? *rebuilt : nullptr;
}

template <typename T>
std::exception_ptr Capture(T error) {
  return std::make_exception_ptr(std::move(error));
}

// Checks that `error` arrives with the same dynamic type and what().
void ExpectSameTypeAndMessage(std::exception_ptr error) {
  std::string original_type;
  std::string original_what;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    original_type = typeid(e).name();
    original_what = e.what();
  }
  std::exception_ptr rebuilt = CrossProcess(error);
  ASSERT_NE(rebuilt, nullptr);
  try {
    std::rethrow_exception(rebuilt);
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(typeid(e).name()), original_type) << original_what;
    EXPECT_EQ(std::string(e.what()), original_what);
  }
}

TEST(ExceptionTest, StandardTypesWithMessages) {
  ExpectSameTypeAndMessage(Capture(std::logic_error("logic")));
  ExpectSameTypeAndMessage(Capture(std::domain_error("domain")));
  ExpectSameTypeAndMessage(Capture(std::invalid_argument("invalid")));
  ExpectSameTypeAndMessage(Capture(std::length_error("length")));
  ExpectSameTypeAndMessage(Capture(std::out_of_range("range")));
  ExpectSameTypeAndMessage(Capture(std::runtime_error("runtime")));
  ExpectSameTypeAndMessage(Capture(std::range_error("range error")));
  ExpectSameTypeAndMessage(Capture(std::overflow_error("overflow")));
  ExpectSameTypeAndMessage(Capture(std::underflow_error("underflow")));
  ExpectSameTypeAndMessage(Capture(std::runtime_error("")));
  ExpectSameTypeAndMessage(Capture(std::runtime_error(std::string("nul\0inside", 10))));
}

TEST(ExceptionTest, StandardTypesWithFixedMessages) {
  ExpectSameTypeAndMessage(Capture(std::exception()));
  ExpectSameTypeAndMessage(Capture(std::bad_exception()));
  ExpectSameTypeAndMessage(Capture(std::bad_alloc()));
  ExpectSameTypeAndMessage(Capture(std::bad_array_new_length()));
  ExpectSameTypeAndMessage(Capture(std::bad_cast()));
  ExpectSameTypeAndMessage(Capture(std::bad_typeid()));
  ExpectSameTypeAndMessage(Capture(std::bad_function_call()));
  ExpectSameTypeAndMessage(Capture(std::bad_weak_ptr()));
  ExpectSameTypeAndMessage(Capture(std::bad_optional_access()));
  ExpectSameTypeAndMessage(Capture(std::bad_variant_access()));
  ExpectSameTypeAndMessage(Capture(std::bad_any_cast()));
}

TEST(ExceptionTest, ExceptionsThrownByTheLibraryItself) {
  std::vector<int> v;
  try {
    (void)v.at(3);
  } catch (...) {
    ExpectSameTypeAndMessage(std::current_exception());
  }
  try {
    std::optional<int> empty;
    (void)empty.value();
  } catch (...) {
    ExpectSameTypeAndMessage(std::current_exception());
  }
  try {
    (void)std::stoi("not a number");
  } catch (...) {
    ExpectSameTypeAndMessage(std::current_exception());
  }
}

TEST(ExceptionTest, SystemErrorKeepsItsCode) {
  ExpectSameTypeAndMessage(
      Capture(std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                                "open /x")));
  ExpectSameTypeAndMessage(Capture(std::system_error(std::error_code(EPIPE, std::system_category()))));
  std::exception_ptr rebuilt = CrossProcess(
      Capture(std::system_error(std::make_error_code(std::errc::timed_out), "waiting")));
  try {
    std::rethrow_exception(rebuilt);
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::timed_out));
  }
}

TEST(ExceptionTest, IostreamFailure) {
  std::istringstream stream("abc");
  stream.exceptions(std::ios::failbit);
  try {
    int number;
    stream >> number;
    FAIL() << "no exception";
  } catch (const std::ios_base::failure&) {
    std::exception_ptr rebuilt = CrossProcess(std::current_exception());
    try {
      std::rethrow_exception(rebuilt);
    } catch (const std::ios_base::failure& e) {
      EXPECT_THAT(e.what(), HasSubstr("basic_ios::clear"));
      EXPECT_EQ(e.code(), std::io_errc::stream);
    }
  }
  ExpectSameTypeAndMessage(Capture(std::ios_base::failure("custom stream failure")));
}

TEST(ExceptionTest, FilesystemErrorKeepsPathsAndCode) {
  try {
    (void)std::filesystem::file_size("/definitely/not/here");
    FAIL() << "no exception";
  } catch (const std::filesystem::filesystem_error& original) {
    std::exception_ptr rebuilt = CrossProcess(std::current_exception());
    try {
      std::rethrow_exception(rebuilt);
    } catch (const std::filesystem::filesystem_error& e) {
      EXPECT_STREQ(e.what(), original.what());
      EXPECT_EQ(e.path1(), original.path1());
      EXPECT_EQ(e.code(), original.code());
    }
  }
}

TEST(ExceptionTest, FutureErrorKeepsItsCode) {
  std::promise<int> promise;
  (void)promise.get_future();
  try {
    (void)promise.get_future();
    FAIL() << "no exception";
  } catch (const std::future_error&) {
    ExpectSameTypeAndMessage(std::current_exception());
  }
}

TEST(ExceptionTest, RegexErrorKeepsItsCodeAndMessage) {
  try {
    std::regex bad("(unclosed");
    FAIL() << "no exception";
  } catch (const std::regex_error& original) {
    std::exception_ptr rebuilt = CrossProcess(std::current_exception());
    try {
      std::rethrow_exception(rebuilt);
    } catch (const std::regex_error& e) {
      EXPECT_EQ(e.code(), original.code());
      EXPECT_STREQ(e.what(), original.what());
    }
  }
  ExpectSameTypeAndMessage(Capture(std::regex_error(std::regex_constants::error_brack)));
}

TEST(ExceptionTest, CfErrorsAreRebuiltAsThemselves) {
  ExpectSameTypeAndMessage(Capture(cf::Error("error")));
  ExpectSameTypeAndMessage(Capture(cf::CancelledError()));
  ExpectSameTypeAndMessage(Capture(cf::TimeoutError()));
  ExpectSameTypeAndMessage(Capture(cf::InvalidStateError("FINISHED: <Future>")));
  ExpectSameTypeAndMessage(Capture(cf::BrokenPromise()));
  ExpectSameTypeAndMessage(Capture(cf::ShutdownError()));
  ExpectSameTypeAndMessage(Capture(cf::BrokenExecutor("executor")));
  ExpectSameTypeAndMessage(Capture(cf::BrokenThreadPool("thread pool")));
  ExpectSameTypeAndMessage(Capture(cf::BrokenProcessPool("process pool")));
  ExpectSameTypeAndMessage(Capture(cf::SerializationError("bytes")));
  std::exception_ptr rebuilt = CrossProcess(Capture(cf::RemoteError("x::Y", "remote")));
  try {
    std::rethrow_exception(rebuilt);
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "x::Y");
    EXPECT_STREQ(e.what(), "remote");
  }
}

TEST(ExceptionTest, RegisteredUserTypesAreRebuiltAsThemselves) {
  ExpectSameTypeAndMessage(Capture(my_app::ParseError("line 3: unexpected '}'")));
  ExpectSameTypeAndMessage(Capture(my_app::ExplicitError("explicit")));
  EXPECT_TRUE(cf::IsRebuildableException("my_app::ParseError"));
  EXPECT_TRUE(cf::IsRebuildableException("std::out_of_range"));
  EXPECT_TRUE(cf::IsRebuildableException("cf::BrokenProcessPool"));
  EXPECT_FALSE(cf::IsRebuildableException("my_app::NotRegisteredError"));
  EXPECT_TRUE(cf::CheckExceptionRegistry().ok());
}

TEST(ExceptionTest, OtherTypesBecomeRemoteErrorWithTheDemangledName) {
  std::exception_ptr rebuilt = CrossProcess(Capture(my_app::NotRegisteredError("nope")));
  try {
    std::rethrow_exception(rebuilt);
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "my_app::NotRegisteredError");
    EXPECT_STREQ(e.what(), "nope");
  }
}

TEST(ExceptionTest, NonExceptionsBecomeUnknownException) {
  for (std::exception_ptr thrown :
       {std::make_exception_ptr(42), std::make_exception_ptr(std::string("text")),
        std::make_exception_ptr("c string")}) {
    std::exception_ptr rebuilt = CrossProcess(thrown);
    try {
      std::rethrow_exception(rebuilt);
    } catch (const cf::RemoteError& e) {
      EXPECT_STREQ(e.what(), "unknown exception");
      EXPECT_FALSE(e.type_name().empty());
    }
  }
  cf::ExceptionInfo info = cf::DescribeException(std::make_exception_ptr(42));
  EXPECT_FALSE(info.is_std_exception);
  EXPECT_EQ(info.type_name, "int");
  EXPECT_THROW(std::rethrow_exception(CrossProcess(nullptr)), cf::RemoteError);
}

TEST(ExceptionTest, InfoCarriesPidAndTask) {
  cf::ExceptionInfo info =
      cf::DescribeException(Capture(std::out_of_range("index 9")), "lookup_task");
  EXPECT_EQ(info.type_name, "std::out_of_range");
  EXPECT_EQ(info.message, "index 9");
  EXPECT_EQ(info.pid, getpid());
  EXPECT_EQ(info.task_name, "lookup_task");
  cf::ByteBuffer payload;
  cf::EncodeException(Capture(std::out_of_range("index 9")), "lookup_task", &payload);
  absl::StatusOr<cf::ExceptionInfo> decoded = cf::DecodeExceptionInfo(payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->pid, getpid());
  EXPECT_EQ(decoded->task_name, "lookup_task");
}

TEST(ExceptionTest, EncodeAppendsAfterExistingBytes) {
  cf::ByteBuffer payload;
  payload.Append("prefix", 6);
  cf::EncodeException(Capture(std::runtime_error("x")), "", &payload);
  EXPECT_EQ(payload.view().substr(0, 6), "prefix");
  EXPECT_TRUE(cf::DecodeExceptionInfo(payload.span().subspan(6)).ok());
}

TEST(ExceptionTest, MalformedPayloadsAreDataLoss) {
  cf::ByteBuffer payload;
  cf::EncodeException(Capture(std::runtime_error("message")), "task", &payload);
  for (size_t size = 0; size < payload.size(); ++size) {
    EXPECT_EQ(cf::DecodeException(payload.span().subspan(0, size)).status().code(),
              absl::StatusCode::kDataLoss)
        << size;
  }
  cf::ByteBuffer longer(payload);
  longer.Append("?", 1);
  EXPECT_EQ(cf::DecodeException(longer).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ExceptionTest, UnknownSystemErrorCategoryFallsBackToRemoteError) {
  cf::ExceptionInfo info;
  info.type_name = "std::system_error";
  info.message = "something: odd";
  info.error_code = 3;
  info.error_category = "my-category";
  try {
    std::rethrow_exception(cf::RebuildException(info));
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "std::system_error");
    EXPECT_STREQ(e.what(), "something: odd");
  }
}

TEST(ExceptionRegistryTest, TwoTypesWithOneNameAreAConflict) {
  cf::internal::ExceptionRegistry registry;
  registry.Add("dup::Error", typeid(std::runtime_error),
               &cf::internal::MakeExceptionFromMessage<std::runtime_error>, "a.cc:1");
  registry.Add("dup::Error", typeid(std::runtime_error),
               &cf::internal::MakeExceptionFromMessage<std::runtime_error>, "a.cc:1");
  EXPECT_TRUE(registry.status().ok());
  EXPECT_NE(registry.Make("dup::Error", "m"), nullptr);
  ::testing::internal::CaptureStderr();
  registry.Add("dup::Error", typeid(std::logic_error),
               &cf::internal::MakeExceptionFromMessage<std::logic_error>, "b.cc:2");
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(printed, HasSubstr("\"dup::Error\" belongs to different types"));
  EXPECT_THAT(printed, HasSubstr("a.cc:1 and b.cc:2"));
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.Make("dup::Error", "m"), nullptr);
  EXPECT_FALSE(registry.Contains("dup::Error"));
}

}  // namespace
