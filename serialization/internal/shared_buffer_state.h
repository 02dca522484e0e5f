// Internal: what a cf::SharedBuffer handle points to, and the per-process registry of live
// buffers. Public API: cf/serialization/shared_buffer.h.
//
// A SharedBufferState is one mapping of one memfd in one process; every handle to it in that
// process shares it. The registry lists the sealed ones by their file's identity (st_dev,
// st_ino), so that a process decoding a buffer it already holds (a task's echo of its argument,
// the same buffer decoded twice) shares its mapping instead of opening the file again.
//
// Fork safety: a fork() child must not take a lock its parent's other threads may have held at
// the fork (a process pool's kFork worker decodes its arguments before the user's task runs).
// So there is one registry per process: the first use in a child (getpid() differs from the
// registry's) publishes a fresh registry with a compare-and-swap and leaves the parent's
// untouched, still reachable from the new one. States the child inherited stay listed in the
// abandoned registry only; their descriptors may even be closed in the child (a kFork worker
// closes what it inherits), so a state checks that its descriptor is still its file before
// closing it in a process other than the one that opened it.
//
// Thread safety: the registry's methods may be called concurrently; a state's fields are set
// before it is shared (and `sealed` is the one that changes later, atomically).
#ifndef CF_SERIALIZATION_INTERNAL_SHARED_BUFFER_STATE_H_
#define CF_SERIALIZATION_INTERNAL_SHARED_BUFFER_STATE_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace cf::internal {

class SharedBufferRegistry;

struct SharedBufferState {
  SharedBufferState() = default;
  SharedBufferState(const SharedBufferState&) = delete;
  SharedBufferState& operator=(const SharedBufferState&) = delete;
  // Unlists, unmaps and closes (see the fork note above).
  ~SharedBufferState();

  char* data = nullptr;  // writable and shared before Seal(), then read-only
  std::size_t size = 0;
  int fd = -1;    // the memfd: the creator's is read-write, a receiver's read-only
  pid_t pid = 0;  // the process that opened fd (a fork() child's copy differs)
  dev_t dev = 0;  // the file's identity
  ino_t ino = 0;
  bool writable = false;  // data is the writable mapping (until Seal(); see Seal()'s failure)
  std::atomic<bool> sealed{false};
  SharedBufferRegistry* registry = nullptr;  // set when listed
};

// True if descriptor `fd` of this process is the file (dev, ino).
bool IsFile(int fd, dev_t dev, ino_t ino);

class SharedBufferRegistry {
 public:
  SharedBufferRegistry(pid_t pid, SharedBufferRegistry* inherited)
      : pid_(pid), inherited_(inherited) {}
  SharedBufferRegistry(const SharedBufferRegistry&) = delete;
  SharedBufferRegistry& operator=(const SharedBufferRegistry&) = delete;

  // This process's registry (lock-free; a fork() child's first call makes its own). Never
  // destroyed.
  static SharedBufferRegistry& Get();

  pid_t pid() const { return pid_; }
  // The parent's registry this one replaced in a fork() child, or null.
  const SharedBufferRegistry* inherited() const { return inherited_; }

  // The live state listed for (dev, ino), or null.
  std::shared_ptr<SharedBufferState> Find(dev_t dev, ino_t ino) ABSL_LOCKS_EXCLUDED(mu_);
  // Lists `state` (sealed, not empty) unless a live state for its file is listed already;
  // returns the one that is listed.
  std::shared_ptr<SharedBufferState> Add(std::shared_ptr<SharedBufferState> state)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Unlists (dev, ino) if the state listed for it is gone.
  void Forget(dev_t dev, ino_t ino) ABSL_LOCKS_EXCLUDED(mu_);

  // Test-only: the lock the methods take (a fork test holds it in another thread).
  absl::Mutex& MutexForTesting() ABSL_LOCK_RETURNED(mu_) { return mu_; }

 private:
  using FileKey = std::pair<std::uint64_t, std::uint64_t>;

  const pid_t pid_;
  SharedBufferRegistry* const inherited_;
  absl::Mutex mu_;
  absl::flat_hash_map<FileKey, std::weak_ptr<SharedBufferState>> states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_SHARED_BUFFER_STATE_H_
