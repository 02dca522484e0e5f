// SocketGate: a gate that tasks in *other processes* can block on until the test opens it —
// the process pool's counterpart of InProcessGate, with the same interface, so the executor
// behaviour suite runs unchanged on ProcessPoolExecutor.
//
// The test process serves an abstract Unix socket named after a per-process nonce and the gate's
// number; a
// task (a CF_TASK function running in a worker, however it was started) connects, which counts
// as an arrival, and blocks reading until the gate opens (the server writes one byte to every
// connection, now and later). A worker that is killed just drops its connection.
//
// Thread safety: all members may be called from any thread. Open() happens-before every Pass()
// it releases returns.
#ifndef CF_TESTS_PROCESS_POOL_SOCKET_GATE_H_
#define CF_TESTS_PROCESS_POOL_SOCKET_GATE_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"

namespace cf::testing {

class SocketGate {
 public:
  SocketGate();
  SocketGate(const SocketGate&) = delete;
  SocketGate& operator=(const SocketGate&) = delete;
  // Opens the gate and stops serving.
  ~SocketGate();

  // Names this gate across processes: a random nonce of the test process and the gate's number.
  int64_t id() const { return id_; }
  void Open();
  // Connections (tasks that reached the gate) so far.
  int arrivals() const;
  // Blocks until at least n tasks reached the gate or `timeout` passes; returns whether they did.
  bool AwaitArrivals(int n, absl::Duration timeout) const;

  // The task side (call it from a CF_TASK function): blocks until gate `id` opens, then returns
  // `value`. Throws cf::TimeoutError after 60 s (a broken test fails instead of hanging) and
  // std::runtime_error if the gate no longer exists.
  static int Pass(int64_t id, int value);

 private:
  class Server;
  const int64_t id_;
  std::unique_ptr<Server> server_;
};

}  // namespace cf::testing

#endif  // CF_TESTS_PROCESS_POOL_SOCKET_GATE_H_
