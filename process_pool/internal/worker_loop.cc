#include "cf/process_pool/internal/worker_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

// Payloads at least this big are vmsplice()d into the pipe: the kernel then references the
// pages instead of copying them, and the pool's read() is the only copy. This is safe because
// of the protocol: the worker does not touch a reply's buffer again before the pool has read
// the whole reply (the pool sends the next call only after that).
constexpr size_t kSpliceThreshold = 256 << 10;

absl::Status WriteReply(FrameWriter& writer, int fd, FrameKind kind, std::uint64_t id,
                        absl::Span<const char> payload) {
  if (payload.size() < kSpliceThreshold) return writer.Write(kind, id, payload);
  char header[kFrameHeaderSize];
  EncodeFrameHeader(FrameHeader{kind, id, payload.size()}, header);
  size_t done = 0;
  while (done < kFrameHeaderSize) {
    const ssize_t n = write(fd, header + done, kFrameHeaderSize - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::ErrnoToStatus(errno, "worker: write");
    done += static_cast<size_t>(n);
  }
  done = 0;
  while (done < payload.size()) {
    iovec iov{const_cast<char*>(payload.data()) + done, payload.size() - done};
    const ssize_t n = vmsplice(fd, &iov, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::ErrnoToStatus(errno, "worker: vmsplice");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

int RunWorker(int in_fd, int out_fd) {
  // A worker is cf's own process: keep big buffers (arguments, results, frames) in the heap
  // between calls instead of handing them back to the kernel and faulting them in again.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  FrameReader reader(in_fd);
  FrameWriter writer(out_fd);
  EnlargePipeBuffer(out_fd).IgnoreError();
  if (!writer.Write(FrameKind::kHello, static_cast<std::uint64_t>(getpid()), {}).ok()) return 0;

  Frame frame;
  TaskOutcome outcome;
  for (;;) {
    const absl::Status read = reader.ReadInto(&frame);
    if (!read.ok()) return 0;  // the pool closed the pipe (or broke the stream): nothing to do
    switch (frame.kind) {
      case FrameKind::kInitialize:
        RunTaskCall(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()), &outcome);
        if (outcome.kind == FrameKind::kException) {
          writer.Write(FrameKind::kException, 0, outcome.payload).IgnoreError();
          return kInitializerFailedExitCode;
        }
        break;
      case FrameKind::kCall:
        RunTaskCall(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()), &outcome);
        if (!WriteReply(writer, out_fd, outcome.kind, frame.task_id, outcome.payload).ok()) {
          return 0;
        }
        break;
      case FrameKind::kShutdown:
        writer.Write(FrameKind::kGoodbye, static_cast<std::uint64_t>(getpid()), {}).IgnoreError();
        return 0;
      default:
        // Not something a pool sends: the stream cannot be trusted any more.
        return 2;
    }
  }
}

}  // namespace cf::internal
