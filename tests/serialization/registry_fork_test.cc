// Registry lookups in a child forked while another thread of the parent holds the registry's
// writer lock. A process pool's kFork worker is such a child: it looks its tasks up by name and
// describes their exceptions, and a lookup that took a lock held at fork() would hang it forever.
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/internal/exception_registry.h"
#include "cf/serialization/internal/task_registry.h"
#include "cf/serialization/task.h"
#include "gtest/gtest.h"
#include "tests/serialization/fork_child.h"

int ForkSquare(int x) { return x * x; }
CF_TASK(ForkSquare);

void ForkThrow(int x) { throw std::out_of_range(absl::StrCat("ForkThrow ", x)); }
CF_TASK(ForkThrow);

namespace {

using cf::internal::ErasedFunction;
using cf::internal::ExceptionRegistry;
using cf::internal::TaskEntry;
using cf::internal::TaskRegistry;

using cf::testing::kExitedCleanly;
using cf::testing::LockHolder;

// Bounded at 10 s: a lookup that takes a held lock hangs for good.
std::string RunInForkedChild(const std::function<int()>& child) {
  return cf::testing::RunInForkedChild(child, absl::Seconds(10));
}

// In the child: 0 if every lookup a worker makes succeeds, else the number of the first that
// failed (also printed).
int Fail(int check) {
  std::fprintf(stderr, "child: check %d failed\n", check);
  return check;
}

int TaskLookupsInChild(const cf::TaskCall& square, const cf::TaskCall& thrower) {
  TaskRegistry& registry = TaskRegistry::Global();
  absl::StatusOr<const TaskEntry*> by_name = registry.FindByName("ForkSquare");
  if (!by_name.ok() || (*by_name)->name != "ForkSquare") return Fail(1);
  absl::StatusOr<const TaskEntry*> by_function =
      registry.FindByFunction(reinterpret_cast<ErasedFunction>(&ForkSquare));
  if (!by_function.ok() || *by_function != *by_name) return Fail(2);
  if (!absl::IsNotFound(registry.FindByName("NoSuchTask").status())) return Fail(3);
  if (!registry.status().ok()) return Fail(4);
  const std::vector<std::string> names = registry.Names();
  if (std::find(names.begin(), names.end(), "ForkThrow") == names.end()) return Fail(5);
  // The worker's whole path: decode the call, look the task up, run it, encode the outcome.
  cf::TaskOutcome outcome = cf::RunTaskCall(square.payload());
  if (outcome.kind != cf::FrameKind::kResult) return Fail(6);
  absl::StatusOr<int> result = cf::DecodeResult<int>(outcome.payload);
  if (!result.ok() || *result != 49) return Fail(7);
  outcome = cf::RunTaskCall(thrower.payload());
  if (outcome.kind != cf::FrameKind::kException) return Fail(8);
  absl::StatusOr<cf::ExceptionInfo> info = cf::DecodeExceptionInfo(outcome.payload);
  if (!info.ok() || info->type_name != "std::out_of_range") return Fail(9);
  // The parent's side, in the child (a task may submit to a pool of its own).
  if (cf::TaskName(&ForkSquare).value_or("") != "ForkSquare") return Fail(10);
  if (!cf::IsRegisteredTask(&ForkThrow)) return Fail(11);
  return 0;
}

TEST(RegistryForkTest, TaskLookupsTakeNoLockInAForkedChild) {
  // Built before the lock is held: building a call looks the task up.
  const cf::TaskCall square(&ForkSquare, 7);
  const cf::TaskCall thrower(&ForkThrow, 3);
  ASSERT_EQ(RunInForkedChild([&] { return TaskLookupsInChild(square, thrower); }),
            kExitedCleanly)
      << "without a lock held";

  LockHolder holder(TaskRegistry::Global().MutexForTesting());
  ASSERT_TRUE(holder.WaitUntilHeld());
  EXPECT_EQ(RunInForkedChild([&] { return TaskLookupsInChild(square, thrower); }),
            kExitedCleanly)
      << "with the task registry's writer lock held by another thread at fork()";
}

int ExceptionLookupsInChild(const cf::ByteBuffer& encoded) {
  ExceptionRegistry& registry = ExceptionRegistry::Global();
  if (!registry.Contains("std::out_of_range")) return Fail(1);
  if (registry.Contains("no::SuchType")) return Fail(2);
  std::exception_ptr made = registry.Make("std::out_of_range", "made in the child");
  if (made == nullptr) return Fail(3);
  try {
    std::rethrow_exception(made);
  } catch (const std::out_of_range& e) {
    if (std::string(e.what()) != "made in the child") return Fail(4);
  } catch (...) {
    return Fail(5);
  }
  if (!registry.status().ok()) return Fail(6);
  if (!cf::IsRebuildableException("std::invalid_argument")) return Fail(7);
  // Encoding (a worker) and decoding (a task's own pool) an exception.
  cf::ByteBuffer payload;
  cf::EncodeException(std::make_exception_ptr(std::length_error("too long")), "t", &payload);
  absl::StatusOr<std::exception_ptr> rebuilt = cf::DecodeException(payload);
  if (!rebuilt.ok()) return Fail(8);
  try {
    std::rethrow_exception(*rebuilt);
  } catch (const std::length_error& e) {
    if (std::string(e.what()) != "too long") return Fail(9);
  } catch (...) {
    return Fail(10);
  }
  rebuilt = cf::DecodeException(encoded);
  if (!rebuilt.ok()) return Fail(11);
  try {
    std::rethrow_exception(*rebuilt);
  } catch (const std::out_of_range&) {
  } catch (...) {
    return Fail(12);
  }
  return 0;
}

TEST(RegistryForkTest, ExceptionLookupsTakeNoLockInAForkedChild) {
  cf::ByteBuffer encoded;
  cf::EncodeException(std::make_exception_ptr(std::out_of_range("from the parent")), "t",
                      &encoded);
  ASSERT_EQ(RunInForkedChild([&] { return ExceptionLookupsInChild(encoded); }), kExitedCleanly)
      << "without a lock held";

  LockHolder holder(ExceptionRegistry::Global().MutexForTesting());
  ASSERT_TRUE(holder.WaitUntilHeld());
  EXPECT_EQ(RunInForkedChild([&] { return ExceptionLookupsInChild(encoded); }), kExitedCleanly)
      << "with the exception registry's writer lock held by another thread at fork()";
}

}  // namespace
