// cf/serialization/internal/task_invoke.h — the compile-time machinery behind CF_TASK, TaskCall
// and TaskBatch: signature checks, argument encoding, and the invoker a worker runs a call with.
//
// Not part of the public API: use cf/serialization/task.h, which includes this header.
//
// FunctionTraits takes a task's function type apart (and gives TaskResult its result type);
// CheckTaskSignature / kIsValidTaskSignature make CF_TASK, TaskCall and TaskBatch fail to compile
// with a readable static_assert when a parameter or the result is not serializable or not
// default-constructible (value.h). SaveArgumentAs encodes a caller's argument as the parameter
// type (TaskCall::AddCall). InvokeTask<R, P...> is the TaskInvoker that TaskRegistration stores
// in the registry (cf/serialization/internal/task_registry.h) for each CF_TASK: RunTaskCall
// (task.cc) calls it in the worker to decode the arguments, call the function and encode the
// result; it ends a fork()ed copy of the worker before anything is encoded (forked_copy.h).
//
// Thread safety: everything here is stateless; TaskRegistration runs during static
// initialisation and registers through the thread-safe registry.
#ifndef CF_SERIALIZATION_INTERNAL_TASK_INVOKE_H_
#define CF_SERIALIZATION_INTERNAL_TASK_INVOKE_H_

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cf/serialization/internal/archive.h"
#include "cf/serialization/internal/forked_copy.h"
#include "cf/serialization/internal/task_registry.h"
#include "cf/serialization/value.h"

namespace cf::internal {

template <typename F>
struct FunctionTraits {
  static constexpr bool kIsFunction = false;
};
template <typename R, typename... P>
struct FunctionTraits<R (*)(P...)> {
  static constexpr bool kIsFunction = true;
  using Result = R;
  using Pointer = R (*)(P...);  // without noexcept
};
template <typename R, typename... P>
struct FunctionTraits<R (*)(P...) noexcept> : FunctionTraits<R (*)(P...)> {};
template <typename R, typename... P>
struct FunctionTraits<R(P...)> : FunctionTraits<R (*)(P...)> {};
template <typename R, typename... P>
struct FunctionTraits<R(P...) noexcept> : FunctionTraits<R (*)(P...)> {};

template <typename T>
inline constexpr bool kAlwaysFalse = false;

template <typename T>
inline constexpr bool kIsDecodable =
    kIsSerializable<T> && std::is_default_constructible_v<std::decay_t<T>>;

template <typename R>
constexpr bool IsValidTaskResult() {
  if constexpr (std::is_void_v<R>) {
    return true;
  } else {
    return kIsDecodable<std::decay_t<R>>;
  }
}

template <typename R, typename... P>
inline constexpr bool kIsValidTaskSignature =
    (kIsDecodable<std::decay_t<P>> && ...) && IsValidTaskResult<R>();

template <typename R, typename... P>
constexpr void CheckTaskSignature() {
  (AssertDecodable<std::decay_t<P>>(), ...);
  if constexpr (!std::is_void_v<R>) AssertDecodable<std::decay_t<R>>();
}

template <typename R, typename... P, size_t... I>
decltype(auto) CallWithArguments(R (*fn)(P...), std::tuple<std::decay_t<P>...>& arguments,
                                 std::index_sequence<I...>) {
  return fn(static_cast<P&&>(std::get<I>(arguments))...);
}

// The TaskInvoker for signature R(P...): decode, call, encode.
template <typename R, typename... P>
void InvokeTask(ErasedFunction erased, WireInputArchive& in, WireOutputArchive& out) {
  auto* fn = reinterpret_cast<R (*)(P...)>(erased);
  std::tuple<std::decay_t<P>...> arguments;
  std::apply([&in](auto&... argument) { (LoadValue(in, argument), ...); }, arguments);
  if constexpr (std::is_void_v<R>) {
    CallWithArguments(fn, arguments, std::index_sequence_for<P...>());
    EndIfForkedCopy();
  } else {
    decltype(auto) result = CallWithArguments(fn, arguments, std::index_sequence_for<P...>());
    EndIfForkedCopy();  // a child the task fork()ed must not answer (forked_copy.h)
    const std::decay_t<R>& value = result;
    out(value);
  }
}

// Encodes `argument` as the decayed parameter type P.
template <typename P, typename A>
void SaveArgumentAs(WireOutputArchive& out, A&& argument) {
  using Param = std::decay_t<P>;
  static_assert(std::is_convertible_v<A&&, const Param&>,
                "cf: a task argument cannot be converted to the task's parameter type (see P "
                "and A in this instantiation)");
  const Param& value = std::forward<A>(argument);
  out(value);
}

class TaskRegistration {
 public:
  template <typename F>
  TaskRegistration(const char* name, F fn, const char* location) {
    static_assert(FunctionTraits<F>::kIsFunction,
                  "CF_TASK(fn): fn must name a free function (not a member function, a lambda or "
                  "a function object)");
    if constexpr (FunctionTraits<F>::kIsFunction) {
      typename FunctionTraits<F>::Pointer plain = fn;
      RegisterTyped(name, plain, location);
    }
  }

 private:
  template <typename R, typename... P>
  static void RegisterTyped(const char* name, R (*fn)(P...), const char* location) {
    CheckTaskSignature<R, P...>();
    if constexpr (kIsValidTaskSignature<R, P...>) {  // else only the static_assert reports it
      Register(name, reinterpret_cast<ErasedFunction>(fn), &InvokeTask<R, P...>, location);
    }
  }
  static void Register(const char* name, ErasedFunction fn, TaskInvoker invoker,
                       const char* location);
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_TASK_INVOKE_H_
