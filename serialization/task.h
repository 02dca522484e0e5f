// cf/serialization/task.h — tasks that run in another process: CF_TASK, TaskCall, TaskBatch,
// and the two ends of a call (RunTaskCall in the worker, DecodeResult(s) in the parent).
//
// A process pool cannot send code, only names. CF_TASK(fn), written at namespace scope in a .cc
// file, registers the free function fn under the name "fn" (exactly the macro's argument, so
// CF_TASK(ns::fn) registers "ns::fn"). Both processes run the same program (or link the same
// registrations), so the name finds the same function on the other side.
//
//   // tasks.cc
//   int Square(int x) { return x * x; }
//   CF_TASK(Square);
//
// A task's parameters decay (const std::string& → std::string) and each decayed type, like the
// result, must be serializable (value.h) and default-constructible; otherwise CF_TASK fails to
// compile with a static_assert saying which rule was broken. void results are fine. Member
// functions, lambdas and overloaded names cannot be registered (wrap them in a free function).
//
// Link note: CF_TASK registers during static initialisation. If it sits in a cc_library that
// nothing else references, give that library `alwayslink = True`, or the linker drops it.
//
// Name clashes: two different functions registered under one name (CF_TASK(Run) in two
// namespaces) are reported on stderr at start-up, returned by CheckTaskRegistry(), and make
// every use of that name fail with the same message. The process pool checks at construction.
//
// The parent side:
//   cf::TaskCall call(&Square, 7);            // looks up "Square", encodes 7 as an int;
//   writer.Write(cf::FrameKind::kCall, id, call.payload());
//   ...
//   absl::StatusOr<int> r = cf::DecodeResult<int>(frame.payload);   // on a kResult frame
//   std::exception_ptr e = *cf::DecodeException(frame.payload);      // on a kException frame
// Arguments are converted to the parameter types before encoding (a const char* for a
// std::string parameter is encoded as a std::string). An unregistered function makes TaskCall
// throw std::invalid_argument whose message says to add CF_TASK.
//
// Batches (a chunk of Map): TaskBatch batch(&Square); batch.Add(1); batch.Add(2); ... then
// std::move(batch).Finish() is a TaskCall for all of them, sent in one frame; DecodeResults gets
// their results in order. As in Python, an exception in any call fails the whole batch.
//
// The worker side: RunTaskCall(payload) decodes the call(s), runs them and encodes the outcome:
// a kResult payload, or a kException payload (exception.h) if decoding the arguments, the call
// or encoding the result threw. In every case the reply is a whole, well-formed frame payload,
// so the channel stays usable.
//
// Attachments (value.h): a value may encode a reference to memory instead of its bytes (a
// cf::SharedBuffer). The encoder of a payload keeps its attachments alive until the receiver has
// decoded it: a TaskCall (or TaskBatch) keeps its arguments' for as long as it lives, so its
// sender keeps it until the call's result is decoded (the process pool keeps it in its PoolTask);
// TaskOutcome::attachments are the result's, for the worker loop to keep likewise.
//
// Thread safety: registration is thread-safe; TaskCall and TaskBatch are thread-compatible
// values; RunTaskCall and the decoders are reentrant.
#ifndef CF_SERIALIZATION_TASK_H_
#define CF_SERIALIZATION_TASK_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/internal/archive.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "cf/serialization/internal/task_invoke.h"
#include "cf/serialization/internal/task_registry.h"
#include "cf/serialization/value.h"
#include "cf/serialization/wire.h"

namespace cf {

// The result type a task's caller receives: the decayed return type (void stays void).
template <typename F>
using TaskResult = std::conditional_t<
    std::is_void_v<typename internal::FunctionTraits<std::decay_t<F>>::Result>, void,
    std::decay_t<typename internal::FunctionTraits<std::decay_t<F>>::Result>>;

// What DecodeResult(s) produce for result type R: R itself, std::monostate for void.
template <typename R>
using ResultValue = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// A registered task and the encoded arguments of one or more calls to it. An empty TaskCall
// (default-constructed) means "no call" (e.g. no initializer).
class TaskCall {
 public:
  TaskCall() = default;

  // One call fn(args...). Throws std::invalid_argument if fn is not registered with CF_TASK
  // (the message says so) or its name is in conflict; throws what an argument's save() throws,
  // and cf::SerializationError if an argument nests too deeply (see EncodeTo in value.h).
  template <typename R, typename... P, typename... A>
  explicit TaskCall(R (*fn)(P...), A&&... args) {
    static_assert(sizeof...(A) == sizeof...(P),
                  "cf: wrong number of arguments for this task");
    internal::CheckTaskSignature<R, P...>();
    if constexpr (sizeof...(A) == sizeof...(P) && internal::kIsValidTaskSignature<R, P...>) {
      Start(reinterpret_cast<internal::ErasedFunction>(fn));
      AddCall<P...>(std::forward<A>(args)...);
    }
  }

  // Lambdas and function objects cannot cross processes.
  template <typename F, typename... A,
            typename = std::enable_if_t<std::is_class_v<std::decay_t<F>> &&
                                        !std::is_same_v<std::decay_t<F>, TaskCall>>>
  explicit TaskCall(F&& /*fn*/, A&&... /*args*/) {
    static_assert(internal::kAlwaysFalse<F>,
                  "cf: a task must be a free function registered with CF_TASK; lambdas and "
                  "function objects cannot be sent to another process");
  }

  bool empty() const { return task_name_.empty(); }
  explicit operator bool() const { return !empty(); }

  const std::string& task_name() const { return task_name_; }
  // How many calls the payload holds (1, or a batch's size).
  std::uint64_t call_count() const { return call_count_; }
  // The bytes of a kCall or kInitialize frame: the task name, the call count, the arguments.
  absl::Span<const char> payload() const { return payload_; }
  // What the payload refers to without containing it (the memory of its SharedBuffer
  // arguments), kept alive as long as this TaskCall (or a copy of it) lives.
  const Attachments& attachments() const { return attachments_; }

 private:
  template <typename F>
  friend class TaskBatch;

  // Looks up fn's name and writes the payload's prefix. Throws std::invalid_argument.
  void Start(internal::ErasedFunction fn);
  // Counts the call whose arguments were just appended. Throws std::invalid_argument (after
  // removing them) if a batch's calls encode to fewer bytes than there are calls.
  void FinishCall(size_t old_size);

  template <typename... P, typename... A>
  void AddCall(A&&... args) {
    const size_t old_size = payload_.size();
    const size_t old_attachments = attachments_.size();
    try {
      internal::WireOutputArchive out(&payload_, &attachments_);
      (internal::SaveArgumentAs<P>(out, std::forward<A>(args)), ...);
      FinishCall(old_size);
    } catch (...) {
      payload_.ResizeUninitialized(old_size);
      attachments_.resize(old_attachments);
      throw;
    }
  }

  std::string task_name_;
  // Big arguments go into one of the process's call slots when one is free (payload_allocator.h).
  ByteBuffer payload_{internal::CallPayloadAllocator::Get()};
  Attachments attachments_;
  std::uint64_t call_count_ = 0;
  size_t count_offset_ = 0;
};

// Builds a TaskCall holding many calls of one task (one frame per chunk of a Map).
template <typename F>
class TaskBatch;

template <typename R, typename... P>
class TaskBatch<R (*)(P...)> {
 public:
  // Throws std::invalid_argument if fn is not registered with CF_TASK.
  explicit TaskBatch(R (*fn)(P...)) {
    internal::CheckTaskSignature<R, P...>();
    call_.Start(reinterpret_cast<internal::ErasedFunction>(fn));
  }

  // Appends the call fn(args...). Throws what an argument's save() throws, or
  // cf::SerializationError if an argument nests too deeply (the batch is then unchanged), and
  // std::invalid_argument if the arguments encode to no bytes at all (such calls cannot be
  // batched; send them one by one).
  template <typename... A>
  void Add(A&&... args) {
    static_assert(sizeof...(A) == sizeof...(P),
                  "cf: wrong number of arguments for this task");
    call_.template AddCall<P...>(std::forward<A>(args)...);
  }
  // Appends the call std::apply(fn, arguments).
  template <typename Tuple>
  void AddTuple(Tuple&& arguments) {
    std::apply([this](auto&&... args) { Add(std::forward<decltype(args)>(args)...); },
               std::forward<Tuple>(arguments));
  }

  std::uint64_t size() const { return call_.call_count(); }
  bool empty() const { return size() == 0; }

  // The TaskCall for every call added so far.
  TaskCall Finish() && { return std::move(call_); }

 private:
  TaskCall call_;
};

template <typename R, typename... P>
TaskBatch(R (*)(P...)) -> TaskBatch<R (*)(P...)>;

// True if fn was registered with CF_TASK (and its name is not in conflict).
template <typename F>
bool IsRegisteredTask(F* fn) {
  static_assert(internal::FunctionTraits<F*>::kIsFunction, "cf: expected a function pointer");
  return internal::TaskRegistry::Global()
      .FindByFunction(reinterpret_cast<internal::ErasedFunction>(fn))
      .ok();
}

// The name fn was registered under; NotFound (mentioning CF_TASK) or FailedPrecondition.
absl::StatusOr<std::string> TaskNameOf(internal::ErasedFunction fn);
template <typename F>
absl::StatusOr<std::string> TaskName(F* fn) {
  static_assert(internal::FunctionTraits<F*>::kIsFunction, "cf: expected a function pointer");
  return TaskNameOf(reinterpret_cast<internal::ErasedFunction>(fn));
}

// OK, or FailedPrecondition describing every task name registered for two functions.
absl::Status CheckTaskRegistry();
// Every registered task name, sorted.
std::vector<std::string> RegisteredTaskNames();

// The worker's answer to a call: the kind and payload of the frame to send back.
struct TaskOutcome {
  FrameKind kind = FrameKind::kResult;  // kResult or kException
  std::string task_name;                // "" if the payload did not name one
  ByteBuffer payload;
  // What a kResult payload refers to without containing it: the memory of the SharedBuffers in
  // the result(s); empty for kException. Whoever sends the payload keeps these alive until the
  // receiver has decoded it. RunTaskCall(payload, &outcome) releases the previous ones first,
  // so a worker loop that reuses one TaskOutcome and may start its next call (or exit) before
  // the pool has decoded this result moves them aside and keeps them until it knows. (A result
  // that is the caller's own buffer, an echo, decodes without them: the caller holds it.)
  Attachments attachments;
};

// Runs the call(s) in a kCall/kInitialize payload and encodes the outcome into *outcome (reusing
// its buffer; releasing its previous attachments first). Does not throw (short of std::bad_alloc
// while encoding a failure): every failure — a malformed payload, an unknown task, an exception
// from decoding, from the task or from encoding its result — becomes a kException outcome
// describing it (the exception a task threw keeps its type, see exception.h).
void RunTaskCall(absl::Span<const char> call_payload, TaskOutcome* outcome);
TaskOutcome RunTaskCall(absl::Span<const char> call_payload);

// Decodes a kResult payload holding `expected_count` results of type R (a TaskResult).
// kDataLoss if the payload is malformed or holds another count; kUnknown if a user's load()
// threw.
template <typename R>
absl::StatusOr<std::vector<ResultValue<R>>> DecodeResults(absl::Span<const char> payload,
                                                          std::uint64_t expected_count) {
  if constexpr (!std::is_void_v<R>) internal::AssertDecodable<R>();
  try {
    internal::WireInputArchive in(payload);
    std::uint64_t count = 0;
    internal::LoadValue(in, count);
    if (count != expected_count) {
      throw SerializationError(absl::StrCat("the result frame holds ", count,
                                            " results, expected ", expected_count));
    }
    std::vector<ResultValue<R>> results(count);
    if constexpr (!std::is_void_v<R>) {
      for (auto& result : results) internal::LoadValue(in, result);
    }
    in.ExpectEnd();
    return results;
  } catch (const SerializationError& e) {
    return absl::DataLossError(absl::StrCat("cannot decode the results (",
                                            internal::TypeName(typeid(ResultValue<R>)),
                                            "): ", e.what()));
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat("decoding a result threw ",
                                           internal::TypeName(typeid(e)), ": ", e.what()));
  } catch (...) {
    return absl::UnknownError(absl::StrCat("decoding a result threw ",
                                           internal::CurrentExceptionTypeName()));
  }
}

// Decodes a kResult payload holding exactly one result.
template <typename R>
absl::StatusOr<ResultValue<R>> DecodeResult(absl::Span<const char> payload) {
  absl::StatusOr<std::vector<ResultValue<R>>> results = DecodeResults<R>(payload, 1);
  if (!results.ok()) return results.status();
  return std::move((*results)[0]);
}

}  // namespace cf

// Registers the free function `fn` as a task named #fn. Use at namespace scope in a .cc file.
#define CF_TASK(...)                                                                        \
  static const ::cf::internal::TaskRegistration CF_INTERNAL_CONCAT(cf_task_registration_,   \
                                                                   __COUNTER__)(            \
      #__VA_ARGS__, &__VA_ARGS__, __FILE__ ":" CF_INTERNAL_STRINGIFY(__LINE__))

#endif  // CF_SERIALIZATION_TASK_H_
