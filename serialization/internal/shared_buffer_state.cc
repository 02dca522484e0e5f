#include "cf/serialization/internal/shared_buffer_state.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace cf::internal {

bool IsFile(int fd, dev_t dev, ino_t ino) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

SharedBufferState::~SharedBufferState() {
  const pid_t self = getpid();
  if (registry != nullptr && registry->pid() == self) registry->Forget(dev, ino);
  if (data != nullptr) munmap(data, size);
  if (fd >= 0 && (pid == self || IsFile(fd, dev, ino))) close(fd);
}

SharedBufferRegistry& SharedBufferRegistry::Get() {
  static constinit std::atomic<SharedBufferRegistry*> current{nullptr};
  const pid_t self = getpid();
  SharedBufferRegistry* registry = current.load(std::memory_order_acquire);
  while (registry == nullptr || registry->pid() != self) {
    auto* fresh = new SharedBufferRegistry(self, registry);
    if (current.compare_exchange_weak(registry, fresh, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      return *fresh;
    }
    delete fresh;  // another thread of this process won; `registry` is now its
  }
  return *registry;
}

std::shared_ptr<SharedBufferState> SharedBufferRegistry::Find(dev_t dev, ino_t ino) {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(FileKey(dev, ino));
  return it == states_.end() ? nullptr : it->second.lock();
}

std::shared_ptr<SharedBufferState> SharedBufferRegistry::Add(
    std::shared_ptr<SharedBufferState> state) {
  absl::MutexLock lock(&mu_);
  std::weak_ptr<SharedBufferState>& slot = states_[FileKey(state->dev, state->ino)];
  if (std::shared_ptr<SharedBufferState> listed = slot.lock()) return listed;
  slot = state;
  state->registry = this;
  return state;
}

void SharedBufferRegistry::Forget(dev_t dev, ino_t ino) {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(FileKey(dev, ino));
  if (it != states_.end() && it->second.expired()) states_.erase(it);
}

}  // namespace cf::internal
