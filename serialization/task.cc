#include "cf/serialization/task.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/internal/archive.h"
#include "cf/serialization/internal/demangle.h"
#include "cf/serialization/internal/forked_copy.h"
#include "cf/serialization/internal/task_registry.h"

namespace cf {
namespace internal {

void TaskRegistration::Register(const char* name, ErasedFunction fn, TaskInvoker invoker,
                                const char* location) {
  TaskRegistry::Global().Add(TaskEntry{name, fn, invoker, location});
}

}  // namespace internal

namespace {

std::string UnregisteredMessage(internal::ErasedFunction fn) {
  return absl::StrCat(
      "cf: ", internal::DescribeFunction(reinterpret_cast<const void*>(fn)),
      " is not a registered task. Register it with CF_TASK(its_name) at namespace scope in the "
      ".cc file that defines it (a cc_library holding that file needs alwayslink = True).");
}

}  // namespace

void TaskCall::Start(internal::ErasedFunction fn) {
  absl::StatusOr<const internal::TaskEntry*> entry =
      internal::TaskRegistry::Global().FindByFunction(fn);
  if (!entry.ok()) {
    if (absl::IsNotFound(entry.status())) throw std::invalid_argument(UnregisteredMessage(fn));
    throw std::invalid_argument(std::string(entry.status().message()));
  }
  task_name_ = (*entry)->name;
  payload_.clear();
  // One allocation for a small call's whole payload (the name, the count, a few arguments)
  // instead of one per doubling.
  payload_.reserve(task_name_.size() + 64);
  attachments_.clear();
  internal::WireOutputArchive out(&payload_);
  out(task_name_);
  count_offset_ = payload_.size();
  call_count_ = 0;
  out(call_count_);
}

void TaskCall::FinishCall(size_t old_size) {
  const std::uint64_t count = call_count_ + 1;
  const size_t argument_bytes = payload_.size() - (count_offset_ + sizeof(std::uint64_t));
  if (count > 1 && argument_bytes < count) {
    payload_.ResizeUninitialized(old_size);
    throw std::invalid_argument(absl::StrCat(
        "cf: the arguments of task \"", task_name_,
        "\" encode to no bytes, so its calls cannot be batched; submit them one by one"));
  }
  call_count_ = count;
  std::memcpy(payload_.data() + count_offset_, &call_count_, sizeof(call_count_));
}

absl::StatusOr<std::string> TaskNameOf(internal::ErasedFunction fn) {
  absl::StatusOr<const internal::TaskEntry*> entry =
      internal::TaskRegistry::Global().FindByFunction(fn);
  if (!entry.ok()) {
    if (absl::IsNotFound(entry.status())) return absl::NotFoundError(UnregisteredMessage(fn));
    return entry.status();
  }
  return (*entry)->name;
}

absl::Status CheckTaskRegistry() { return internal::TaskRegistry::Global().status(); }

std::vector<std::string> RegisteredTaskNames() {
  return internal::TaskRegistry::Global().Names();
}

void RunTaskCall(absl::Span<const char> call_payload, TaskOutcome* outcome) {
  outcome->kind = FrameKind::kResult;
  outcome->task_name.clear();
  outcome->payload.clear();
  outcome->attachments.clear();
  try {
    internal::WireInputArchive in(call_payload);
    std::string name;
    internal::LoadValue(in, name);
    outcome->task_name = name;
    absl::StatusOr<const internal::TaskEntry*> entry =
        internal::TaskRegistry::Global().FindByName(name);
    if (!entry.ok()) {
      if (absl::IsNotFound(entry.status())) {
        throw std::invalid_argument(absl::StrCat(
            "cf: task \"", name, "\" is not registered in process ", getpid(),
            ": does that program link the file with CF_TASK(", name, ")?"));
      }
      throw std::invalid_argument(std::string(entry.status().message()));
    }
    std::uint64_t count = 0;
    internal::LoadValue(in, count);
    if (count > std::max<std::uint64_t>(1, in.remaining())) {
      throw SerializationError(absl::StrCat("malformed payload: a call batch of ", count,
                                            " calls with only ", in.remaining(),
                                            " bytes of arguments"));
    }
    internal::WireOutputArchive out(&outcome->payload, &outcome->attachments);
    out(count);
    const internal::TaskInvoker invoke = (*entry)->invoker;
    const internal::ErasedFunction fn = (*entry)->function;
    for (std::uint64_t i = 0; i < count; ++i) invoke(fn, in, out);
    in.ExpectEnd();
  } catch (...) {
    internal::EndIfForkedCopy();  // a task's fork() child that threw must not answer either
    outcome->kind = FrameKind::kException;
    outcome->payload.clear();
    outcome->attachments.clear();
    EncodeException(std::current_exception(), outcome->task_name, &outcome->payload);
  }
}

TaskOutcome RunTaskCall(absl::Span<const char> call_payload) {
  TaskOutcome outcome;
  RunTaskCall(call_payload, &outcome);
  return outcome;
}

}  // namespace cf
