// cf/process_pool/internal/worker_loop.h — what a worker process does, whatever started it.
//
// Not part of the public API.
//
// Protocol on the worker's two pipes (frames from cf/serialization/wire.h, through a
// FrameChannel, so both sides apply the same size limit):
//   worker → pool  kHello (task id = the worker's pid), once, first
//   pool → worker  kConfigure   first: the pool's frame limit (payload: u64, little-endian)
//                  kInitialize  the initializer TaskCall (optional, before any call)
//                  kCall        a TaskCall (one call, or a batch for a chunk of Map)
//                  kShutdown    finish what was sent before it, say goodbye, exit
//   worker → pool  kResult / kException for every kCall, with the call's task id, in order; a
//                  result over the frame limit is replaced by a kException carrying a
//                  cf::SerializationError that names its size and the limit
//                  kException with task id 0 if the initializer threw; the worker then exits
//                  with kInitializerFailedExitCode
//                  kGoodbye before a planned exit (kShutdown)
// EOF on the call pipe (the pool is gone) ends the worker at once.
//
// Fork safety: the loop takes no lock (no absl::Mutex; the registries it consults are
// lock-free), so a kFork worker cannot block on a lock a parent thread held at fork().
//
// The worker tunes malloc (mallopt) to keep large buffers between calls: it is cf's own
// process, and big arguments and results otherwise cost a page fault per 4 KiB on every call.
#ifndef CF_PROCESS_POOL_INTERNAL_WORKER_LOOP_H_
#define CF_PROCESS_POOL_INTERNAL_WORKER_LOOP_H_

#include <cstdint>
#include <string>

namespace cf::internal {

inline constexpr int kInitializerFailedExitCode = 3;

// Runs the protocol above on in_fd/out_fd; returns the process's exit code.
int RunWorker(int in_fd, int out_fd);

// The kConfigure payload.
std::string EncodeWorkerConfig(std::uint64_t max_payload_size);

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_WORKER_LOOP_H_
