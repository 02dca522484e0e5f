// cf/process_pool/internal/worker_channel.h — the pool's side of one worker: its process, its
// FrameChannel, the calls it holds, and where it is in its life.
//
// Not part of the public API. Owned and used by the manager thread only.
//
// A worker's life, as the manager tracks it:
//   started (kConfigure, kInitialize queued) ──kHello──► ready ──kCall/kResult…──►
//   retiring (kShutdown queued) ──kGoodbye──► exited (pidfd fired) → its end goes to the
//   failure policy. A worker told to exit that is still alive exit_grace after it has nothing in
//   flight (stopped, or ignoring SIGTERM) is SIGKILLed.
#ifndef CF_PROCESS_POOL_INTERNAL_WORKER_CHANNEL_H_
#define CF_PROCESS_POOL_INTERNAL_WORKER_CHANNEL_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/frame_channel.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/pool_config.h"
#include "cf/process_pool/internal/pool_task.h"

namespace cf::internal {

class WorkerChannel {
 public:
  // Takes the started process; makes its pipes non-blocking and queues kConfigure and the
  // initializer (if any). `config` must outlive the channel.
  WorkerChannel(WorkerProcess proc, const PoolConfig& config, absl::Time now);
  WorkerChannel(const WorkerChannel&) = delete;
  WorkerChannel& operator=(const WorkerChannel&) = delete;
  ~WorkerChannel();

  pid_t pid() const { return proc_.pid; }
  const WorkerProcess& process() const { return proc_; }
  int read_fd() const { return proc_.from_worker.get(); }
  int write_fd() const { return proc_.to_worker.get(); }
  int pidfd() const { return proc_.pidfd.get(); }

  // May take a call now: started, not retiring, its pipes open, nothing in flight.
  bool idle() const { return !retiring_ && !eof_ && !exited_ && in_flight_.empty(); }
  bool hello() const { return hello_; }
  bool goodbye() const { return goodbye_; }
  bool retiring() const { return retiring_; }
  bool eof() const { return eof_; }
  bool exited() const { return exited_; }
  void set_exited() { exited_ = true; }
  bool holds_calls() const { return !in_flight_.empty(); }
  bool told_to_exit() const { return told_to_exit_; }
  const std::string& init_error() const { return init_error_; }
  bool wants_write() const { return channel_.has_output(); }

  // Hands a started task to the worker (queued and flushed). Counts toward max_tasks_per_child,
  // after which the worker retires.
  void SendCall(std::uint64_t id, std::unique_ptr<PoolTask> task);
  // No more calls: finish what you hold, say goodbye, exit.
  void Retire();
  absl::Status Flush();

  // Reads what the worker sent. Each reply goes to on_reply with its task, in order. An error
  // means the stream is broken (the pool's verdict: ProtocolBreakage); EOF just sets eof().
  absl::Status Read(absl::FunctionRef<void(std::unique_ptr<PoolTask>, Frame&)> on_reply);

  // Offers `spare` (a delivered frame's buffer) for the next large payload: taken (left empty)
  // at a frame boundary.
  void Recycle(ByteBuffer& spare);

  // The calls it held, for failing or retrying them; the queued output is dropped first.
  std::vector<std::unique_ptr<PoolTask>> TakeCalls();

  // When the worker must be SIGKILLed (it is late to start, or to exit); InfiniteFuture if not.
  absl::Time kill_deadline() const;
  bool late_to_start(absl::Time now) const { return !hello_ && !exited_ && now >= start_deadline_; }
  // The pool asked it to end (TerminateWorkers): it gets exit_grace before SIGKILL.
  void MarkTerminated(absl::Time now);

 private:
  void StartExitClock(absl::Time now);

  WorkerProcess proc_;
  const PoolConfig& config_;
  FrameChannel channel_;
  const std::string config_payload_;
  std::deque<std::pair<std::uint64_t, std::unique_ptr<PoolTask>>> in_flight_;
  absl::Time start_deadline_;
  absl::Time exit_deadline_ = absl::InfiniteFuture();
  int handed_ = 0;
  bool hello_ = false;
  bool retiring_ = false;
  bool told_to_exit_ = false;  // retiring with nothing in flight, or terminated
  bool goodbye_ = false;
  bool eof_ = false;
  bool exited_ = false;
  std::string init_error_;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_WORKER_CHANNEL_H_
