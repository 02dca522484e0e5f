// cf/process_pool/internal/worker_channel.h — the pool's side of one worker: its process, its
// FrameChannel and SharedRegion, the calls it holds, and where it is in its life.
//
// Not part of the public API. Owned and used by the manager thread only.
//
// A worker's life, as the manager tracks it:
//   started (kConfigure, kInitialize queued) ──kHello──► ready ──kCall/kResult…──►
//   retiring (kShutdown queued) ──kGoodbye──► exited (pidfd fired) → its end goes to the
//   failure policy. A worker told to exit that is still alive exit_grace after it has nothing in
//   flight (stopped, or ignoring SIGTERM) is SIGKILLed.
//
// Calls go through the region's call ring, several at a time (the pool chooses how many); each
// holds a claim word (see pool_task.h), so one the worker has not claimed can still be
// cancelled, or taken back for another worker. A payload too big for a ring record is in one of
// the program's call slots (its record names it) or waits in the call arena (one at a time per
// worker; its record says how big it is); results come back the same way, a big one in its
// call's slot if the pool lent it (see EndLend for how long the lend lasts). Results are matched
// to calls by their sequence number.
#ifndef CF_PROCESS_POOL_INTERNAL_WORKER_CHANNEL_H_
#define CF_PROCESS_POOL_INTERNAL_WORKER_CHANNEL_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
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
#include "cf/process_pool/internal/shared_region.h"

namespace cf::internal {

class WorkerChannel {
 public:
  // Takes the started process and the region it was given; makes its pipes non-blocking and
  // queues kConfigure and the initializer (if any). `config` must outlive the channel.
  WorkerChannel(WorkerProcess proc, std::shared_ptr<SharedRegion> region,
                const PoolConfig& config, absl::Time now);
  WorkerChannel(const WorkerChannel&) = delete;
  WorkerChannel& operator=(const WorkerChannel&) = delete;
  ~WorkerChannel();

  pid_t pid() const { return proc_.pid; }
  const WorkerProcess& process() const { return proc_; }
  int read_fd() const { return proc_.from_worker.get(); }
  int write_fd() const { return proc_.to_worker.get(); }
  int pidfd() const { return proc_.pidfd.get(); }

  // Started, not retiring, its pipes open.
  bool accepting() const { return !retiring_ && !eof_ && !exited_; }
  // Accepting with nothing in flight.
  bool idle() const { return accepting() && in_flight_.empty(); }
  // May take a call with this payload now, holding fewer than `depth` calls (ring calls): room
  // in the ring, and for a big payload not in a call slot, the call arena free.
  bool CanTake(absl::Span<const char> payload, std::size_t depth) const;
  // The call slot a big payload is in, if this worker maps the slots; else -1.
  int CallSlotOf(absl::Span<const char> payload) const;
  std::size_t load() const { return in_flight_.size(); }
  bool hello() const { return hello_; }
  bool goodbye() const { return goodbye_; }
  bool retiring() const { return retiring_; }
  bool eof() const { return eof_; }
  bool exited() const { return exited_; }
  // Its pidfd fired: it is gone, and so are its writes to call slots lent to it.
  void set_exited();
  bool holds_calls() const { return !in_flight_.empty(); }
  bool told_to_exit() const { return told_to_exit_; }
  const std::string& init_error() const { return init_error_; }
  bool wants_write() const { return channel_.has_output(); }

  // Hands a call to the worker (as CanTake allowed): in the ring, or for a big payload a note
  // naming its call slot (read in place; lent for the outcome unless the call may be retried)
  // or, copied into the call arena, its size. Counts
  // toward max_tasks_per_child, after which the worker retires. A call cancelled meanwhile is
  // dropped; one whose payload cannot be put in the arena (no memory) fails with
  // BrokenProcessPool saying why.
  void SendCall(std::unique_ptr<PoolTask> task);
  // The newest call in the ring that the worker has not claimed, revoked and taken back (for
  // an idle worker), or nullptr. Never the oldest call it holds.
  std::unique_ptr<PoolTask> TakeBackUnclaimed();
  // The futures of the calls waiting in its ring (Shutdown(cancel_futures) cancels them).
  void CollectRingFutures(std::vector<AnyFuture>& out) const;
  // No more calls: finish what you hold, say goodbye, exit.
  void Retire();
  absl::Status Flush();

  // One result for the pool to deliver: its payload is in `frame` (copied out of the ring), or
  // is `arena`: the worker's result arena (released by ReleaseResult once decoded) or, with
  // `in_call_slot`, the call's own slot (freed with the task).
  struct Reply {
    std::unique_ptr<PoolTask> task;
    Frame frame;
    absl::Span<const char> arena;
    bool in_call_slot = false;
    std::uint64_t seq = 0;
    std::shared_ptr<SharedRegion> region;  // keeps the arena mapped; says it was decoded
  };
  // Reads what the worker sent on its pipe, then what its result ring holds. Each reply goes to
  // on_reply. An error means the stream is broken (the pool's verdict: ProtocolBreakage); EOF
  // just sets eof().
  absl::Status Read(absl::FunctionRef<void(Reply&)> on_reply);
  absl::Status ReadRing(absl::FunctionRef<void(Reply&)> on_reply);
  // After a reply was delivered (decoded): frees the result arena if it held it, and lets the
  // worker drop what the result referred to.
  static void ReleaseResult(const Reply& reply);
  // Wakes the worker if it waits for room for its results (after ReleaseResult).
  void WakeIfWaiting() { WakeWorker(region_->results().control().producer_waiting); }
  bool results_waiting() const { return !ended_by_pool_ && !region_->results().Empty(); }
  // The manager is about to sleep (true) or awake again (false): a worker that publishes a
  // result while it sleeps sends a doorbell. Returns results_waiting() after raising the flag.
  bool SetManagerAsleep(bool asleep);

  // Offers `spare` (a delivered frame's buffer) for the next large payload: taken (left empty)
  // at a frame boundary.
  void Recycle(ByteBuffer& spare);

  // The calls it held, for failing or retrying them (revoked first, so that the worker cannot
  // start them any more); the queued output is dropped first. With `started`, the calls the
  // worker had claimed go there instead (at most the one it was running).
  std::vector<std::unique_ptr<PoolTask>> TakeCalls(
      std::vector<std::unique_ptr<PoolTask>>* started = nullptr);
  // Whether the oldest call it holds is claimed: the worker is running it.
  bool running_a_call() const;

  // Timed calls (TaskOptions::timeout; task_deadlines.cc). A call's clock starts when the
  // manager first sees its claim. The earliest deadline of its claimed timed calls; or, while
  // a timed call waits unclaimed, `now + tick` at the latest (so that its start is seen
  // promptly); InfiniteFuture with no timed call.
  absl::Time TaskDeadline(absl::Time now, absl::Duration tick);
  bool holds_timed_calls() const { return timed_calls_ > 0; }
  // The call whose deadline has passed (removed), or nullptr.
  std::unique_ptr<PoolTask> TakeExpired(absl::Time now);
  // The pool ends this worker (its call timed out): no more calls, nothing more is read from
  // it, SIGTERM (and SIGCONT) to it and its process group now, SIGKILL kill_grace later.
  void EndByPool(absl::Time now);
  bool ended_by_pool() const { return ended_by_pool_; }
  // SIGKILL, to its process group too once the pool has ended it (what its task started).
  void Kill();

  // When the worker must be SIGKILLed (it is late to start, or to exit); InfiniteFuture if not.
  absl::Time kill_deadline() const;
  bool late_to_start(absl::Time now) const { return !hello_ && !exited_ && now >= start_deadline_; }
  // The pool asked it to end (TerminateWorkers): it gets exit_grace before SIGKILL.
  void MarkTerminated(absl::Time now);

 private:
  struct InFlight {
    std::uint64_t seq;
    std::unique_ptr<PoolTask> task;
    absl::Time started = absl::InfiniteFuture();  // timed calls: when its claim was seen
    int lent_slot = -1;           // the call slot the worker may write the outcome in
    std::size_t lent_room = 0;    // how many bytes of it
  };
  void StartExitClock(absl::Time now);
  // The worker sleeps on its pipe: wake it (kWake), once.
  void WakeWorker(std::atomic<std::uint32_t>& flag);
  // Removes and returns the call `seq` (nullptr if it holds none). `worker_done`: the worker
  // has answered or skipped it (so it writes no more in a slot lent with it); else the lend
  // lasts until the worker has exited. `lend`, if given, gets the call's lend.
  std::unique_ptr<PoolTask> TakeCall(std::uint64_t seq, bool worker_done,
                                     InFlight* lend = nullptr);
  // The call leaves with its lend (if any): ended now if the worker cannot write in the slot
  // any more, else kept until it has exited.
  void EndLend(const InFlight& call, bool worker_done);
  void CountHandedCall();

  WorkerProcess proc_;
  std::shared_ptr<SharedRegion> region_;
  const PoolConfig& config_;
  FrameChannel channel_;
  const std::string config_payload_;
  std::deque<InFlight> in_flight_;  // in seq order
  std::uint64_t next_seq_ = 1;
  std::uint64_t arena_call_ = 0;  // the call whose payload is in the call arena, or 0
  absl::Time start_deadline_;
  absl::Time exit_deadline_ = absl::InfiniteFuture();
  int handed_ = 0;
  bool hello_ = false;
  bool retiring_ = false;
  bool told_to_exit_ = false;  // retiring with nothing in flight, or terminated
  bool goodbye_ = false;
  bool eof_ = false;
  bool exited_ = false;
  bool ended_by_pool_ = false;
  int timed_calls_ = 0;  // in in_flight_ with a finite timeout
  // Call slots lent with calls that left while the worker could still write in them (it ran
  // them, and the pool gave up on it): free once it has exited (set_exited, or the destructor).
  std::vector<int> lent_until_exit_;
  std::string init_error_;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_WORKER_CHANNEL_H_
