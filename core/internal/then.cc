// The per-thread trampoline of Future<T>::Then (cf/core/internal/then.h).
#include "cf/core/future.h"  // includes cf/core/internal/then.h at its end

#include <utility>

#include "absl/functional/any_invocable.h"

namespace cf::internal {

ContinuationTrampoline& ThisThreadTrampoline() {
  thread_local ContinuationTrampoline trampoline;
  return trampoline;
}

void DrainContinuations(ContinuationTrampoline& t) noexcept {
  while (!t.queue.empty()) {
    absl::AnyInvocable<void() &&> next = std::move(t.queue.front());
    t.queue.pop_front();
    std::move(next)();  // `next` (its link) is destroyed before the following one runs
  }
  t.active = false;
}

}  // namespace cf::internal
