// InProcessGate: something tasks can block on until the test opens it, named by an integer id
// so that the task is a plain function taking the id (what the executor behaviour suite needs
// from an executor's traits; a process pool's traits provide a cross-process gate instead).
//
// Thread safety: all members may be called from any thread. Open() happens-before every Pass()
// that it releases returns.
#ifndef CF_TESTS_EXECUTOR_BEHAVIOUR_IN_PROCESS_GATE_H_
#define CF_TESTS_EXECUTOR_BEHAVIOUR_IN_PROCESS_GATE_H_

#include <cstdint>

#include "absl/time/time.h"

namespace cf::testing {

class InProcessGate {
 public:
  InProcessGate();
  InProcessGate(const InProcessGate&) = delete;
  InProcessGate& operator=(const InProcessGate&) = delete;
  // Opens the gate (no task stays blocked on a destroyed gate) and forgets it.
  ~InProcessGate();

  int64_t id() const { return id_; }
  void Open();
  // How many Pass() calls have reached the gate so far (blocked or passed).
  int arrivals() const;
  // Blocks until at least n Pass() calls have reached the gate, or `timeout` passes; returns
  // whether they have.
  bool AwaitArrivals(int n, absl::Duration timeout) const;

  // The task side: blocks until gate `id` is open, then returns `value`. A gate that is never
  // opened releases its tasks after 30 s with cf::TimeoutError, so a broken test fails instead
  // of hanging. An unknown (already destroyed) id passes at once.
  static int Pass(int64_t id, int value);

 private:
  const int64_t id_;
};

}  // namespace cf::testing

#endif  // CF_TESTS_EXECUTOR_BEHAVIOUR_IN_PROCESS_GATE_H_
