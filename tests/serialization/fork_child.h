// tests/serialization/fork_child.h — what the fork() tests of the serialization library share:
// a thread that holds a lock across a fork(), and running code in a forked child with a bound.
//
// A kFork worker is a child forked while other threads of the parent may hold locks; these
// helpers reproduce that on purpose and nothing else. LockHolder's thread signals and waits
// through pipes, not absl::Notification: from its write() on it runs no code that takes a lock
// or allocates, so a fork() made once WaitUntilHeld() returned copies exactly one held lock, the
// one under test. (With Notifications, a child once hung under ASan: the holder could still be
// inside absl's debug deadlock detection or the allocator when the parent forked.)
#ifndef CF_TESTS_SERIALIZATION_FORK_CHILD_H_
#define CF_TESTS_SERIALIZATION_FORK_CHILD_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cf::testing {

// Holds `mu` as a writer in another thread from construction until destruction (or for at most a
// minute, so a broken test cannot leave the thread behind forever).
class LockHolder {
 public:
  explicit LockHolder(absl::Mutex& mu);
  ~LockHolder();
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  // True once the other thread holds the lock (false after 30 s without).
  bool WaitUntilHeld();

 private:
  int held_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  std::thread thread_;
};

// Runs `child` in a forked child, which exits (_exit) with the code it returns (101 if it
// throws). Says how the child ended: "exited with code N", "killed by signal N", or "hung: still
// running after <limit>, killed".
std::string RunInForkedChild(const std::function<int()>& child,
                             absl::Duration limit = absl::Seconds(30));

inline constexpr char kExitedCleanly[] = "exited with code 0";

}  // namespace cf::testing

#endif  // CF_TESTS_SERIALIZATION_FORK_CHILD_H_
