// cf/core/internal/waiter.h — something blocked on several futures at once (Wait,
// AsCompleted), and its registration on one future.
//
// Not part of the public API: used by cf/core/wait.h through StateBase::AddWaiter and
// RemoveWaiter (cf/core/internal/state_base.h).
#ifndef CF_CORE_INTERNAL_WAITER_H_
#define CF_CORE_INTERNAL_WAITER_H_

#include <cstdint>

namespace cf::internal {

class StateBase;

// Something blocked on several futures at once (Wait, AsCompleted). OnDone is called with the
// future's mutex held, exactly once per registered node, when that future becomes done.
class Waiter {
 public:
  virtual void OnDone(StateBase* state, uint32_t index) = 0;

 protected:
  ~Waiter() = default;
};

// One registration of a Waiter on one future; owned by the waiter side, linked into the
// future's intrusive list while registered.
struct WaiterNode {
  Waiter* waiter = nullptr;
  uint32_t index = 0;  // the waiter's own numbering (position in its input)
  WaiterNode* prev = nullptr;
  WaiterNode* next = nullptr;
  bool linked = false;
};

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_WAITER_H_
