// The per-thread trampoline and dispatch markers of Future<T>::Then (cf/core/internal/then.h).
#include "cf/core/future.h"  // includes cf/core/internal/then.h at its end

namespace cf::internal {
namespace {

// This thread's trampoline: the links due while one is running, in FIFO order.
struct Trampoline {
  bool active = false;
  ContinuationNode* head = nullptr;
  ContinuationNode* tail = nullptr;
};

thread_local Trampoline trampoline;
thread_local DispatchMarker* innermost_marker = nullptr;

}  // namespace

void RunOrQueue(ContinuationNode* c) noexcept {
  Trampoline& t = trampoline;
  if (t.active) {
    c->next_callback = nullptr;
    if (t.tail == nullptr) {
      t.head = c;
    } else {
      t.tail->next_callback = c;
    }
    t.tail = c;
    return;
  }
  t.active = true;
  c->RunQueued();
  // Each link is released (and usually freed) by its own RunQueued before the next one runs.
  while (t.head != nullptr) {
    ContinuationNode* next = t.head;
    t.head = static_cast<ContinuationNode*>(next->next_callback);  // only links are queued
    if (t.head == nullptr) t.tail = nullptr;
    next->RunQueued();
  }
  t.active = false;
}

void PushDispatchMarker(DispatchMarker* marker) noexcept {
  marker->outer = innermost_marker;
  innermost_marker = marker;
}

void PopDispatchMarker(DispatchMarker* marker) noexcept { innermost_marker = marker->outer; }

void NoteDropped(ContinuationNode* c) noexcept {
  for (DispatchMarker* m = innermost_marker; m != nullptr; m = m->outer) {
    if (m->link == c) {
      m->dropped = true;  // its Dispatch fails the link, with the executor's exception if any
      return;
    }
  }
  c->DroppedUnrun();
}

}  // namespace cf::internal
