// cf/process_pool/internal/worker_loop.h — what a worker process does, whatever started it.
//
// Not part of the public API.
//
// Channels: two pipes (frames from cf/serialization/wire.h, through a FrameChannel, so both
// sides apply the same size limit) for control, and a SharedRegion (shared_region.h) for calls
// and results: two rings of records, and an arena per direction for payloads too big for a
// record (over SharedRegion::kMaxRingPayload).
//
// Pipes:
//   worker → pool  kHello (task id = the worker's pid), once, first
//   pool → worker  kConfigure   first: the pool's frame limit (payload: u64, little-endian) and
//                               whether a kInitialize follows (one byte)
//                  kInitialize  the initializer TaskCall (before any call)
//                  kWake        doorbell: the call ring has records, or the result ring room
//                  kShutdown    finish the calls in the ring, say goodbye, exit
//   worker → pool  kException with task id 0 if the initializer threw; the worker then exits
//                  with kInitializerFailedExitCode
//                  kWake        doorbell: the result ring has records
//                  kGoodbye before a planned exit (kShutdown)
// Rings: the worker claims each kCall record (or kArena record of a kCall: the arguments are
// in the call arena) with a compare-and-swap of its claim word; one the pool revoked first is
// skipped and answered with kSkipped; a claimed one is run and answered with kResult or
// kException, or kArena when the result is in the result arena (written only once the pool has
// released the previous one, arena_busy). A result over the frame limit is replaced by a
// kException carrying a cf::SerializationError that names its size and the limit. The worker
// spins briefly on an empty ring before it sleeps on its pipe (see shared_region.h for the
// wake-up protocol), so a busy pool hands calls over without a system call.
// EOF on the call pipe (the pool is gone) ends the worker at once.
//
// Fork safety: the loop takes no lock (no absl::Mutex; the registries it consults are
// lock-free), so a kFork worker cannot block on a lock a parent thread held at fork(). The other
// way round, a child the task fork()s and lets return ends there, before it answers or takes a
// call (WatchForForkedCopies, serialization/internal/forked_copy.h).
//
// The worker tunes malloc (mallopt) to keep large buffers between calls: it is cf's own
// process, and big arguments and results otherwise cost a page fault per 4 KiB on every call.
#ifndef CF_PROCESS_POOL_INTERNAL_WORKER_LOOP_H_
#define CF_PROCESS_POOL_INTERNAL_WORKER_LOOP_H_

#include <cstdint>
#include <string>

namespace cf::internal {

inline constexpr int kInitializerFailedExitCode = 3;

// Runs the protocol above on in_fd/out_fd and the region in channel_fd; returns the process's
// exit code.
int RunWorker(int in_fd, int out_fd, int channel_fd);

// The kConfigure payload.
std::string EncodeWorkerConfig(std::uint64_t max_payload_size, bool has_initializer);

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_WORKER_LOOP_H_
