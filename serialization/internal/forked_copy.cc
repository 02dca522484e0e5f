#include "cf/serialization/internal/forked_copy.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace cf::internal {
namespace {

std::atomic<bool> forked_copy{false};
std::atomic<bool> watching{false};

void MarkForkedCopy() { forked_copy.store(true, std::memory_order_relaxed); }

}  // namespace

void WatchForForkedCopies() {
  if (!watching.exchange(true, std::memory_order_relaxed)) {
    pthread_atfork(nullptr, nullptr, &MarkForkedCopy);
  }
  forked_copy.store(false, std::memory_order_relaxed);
}

bool IsForkedCopy() { return forked_copy.load(std::memory_order_relaxed); }

void EndIfForkedCopy() {
  if (IsForkedCopy()) _exit(0);
}

}  // namespace cf::internal
