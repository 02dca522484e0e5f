// cf/core/internal/callback_node.h — one done-callback of a future, as an intrusive list node.
//
// Not part of the public API: use Future<T>::AddDoneCallback, AnyFuture::AddDoneCallback or
// Future<T>::Then.
//
// A future keeps its done-callbacks in an intrusive singly linked list of CallbackNodes, in
// registration order, so queueing one allocates nothing beyond the node itself — and a
// continuation's node is its result's own shared state (cf/core/internal/then.h), so a Then
// link costs one allocation in all.
//
// Lifetime: the caller of StateBase::AddCallbackNode gives the node up. Exactly one of OnDone
// (the future is done) or Drop (the future is destroyed without ever being done) is called,
// once; from then on the node owns itself and usually deletes itself (or hands itself on).
//
// Threads: OnDone runs in the thread that made the future done (after the callbacks queued
// before it), outside the future's mutex, or in the registering thread when the future was
// done already.
//
// Handles: OnDone is given one handle on the future (counted as a Future<T> handle, so an
// rvalue Result() elsewhere copies the value rather than moving it from under the node), which
// the node owns: it adopts it into a Future (FutureAccess::AdoptTypedState / AdoptState) or
// drops it with UnrefHandle(). A completion takes the handles of all its queued nodes with one
// atomic add, so a future with many callbacks does not bounce its reference count between
// threads once per callback.
#ifndef CF_CORE_INTERNAL_CALLBACK_NODE_H_
#define CF_CORE_INTERNAL_CALLBACK_NODE_H_

namespace cf::internal {

class StateBase;

class CallbackNode {
 public:
  // `state` is done; the node owns one handle on it (see above). Must not throw.
  virtual void OnDone(StateBase* state) noexcept = 0;
  // `state` is being destroyed without ever being done; it must not be used.
  virtual void Drop() noexcept = 0;

  CallbackNode* next_callback = nullptr;  // the future's list, while queued

 protected:
  CallbackNode() = default;
  ~CallbackNode() = default;
};

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_CALLBACK_NODE_H_
