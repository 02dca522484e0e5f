// cf/process_pool/internal/frame_channel.h — the one implementation of frame I/O on a worker's
// pipes, used by the pool's manager (non-blocking descriptors, driven by poll) and by the worker
// (blocking descriptors) alike.
//
// Not part of the public API.
//
// A FrameChannel reads frames (cf/serialization/wire.h) from one descriptor and writes frames to
// another. Writing queues frames whose payloads the caller keeps alive; Flush() writes what the
// pipe takes. Payloads of at least kSpliceThreshold bytes go by vmsplice(): the pipe then
// references the sender's pages instead of copying them, so such a payload must stay alive and
// unchanged until the reader has read all of it (the protocol guarantees it: a call's payload
// belongs to its in-flight task, a reply's buffer is reused only for the next call, which comes
// after the reply was read). The size limit is checked here and only here, for frames in both
// directions: Queue() refuses a payload over the limit before anything is written, and the
// decoder refuses a header that announces one.
//
// Errors are absl::Status values: kOutOfRange at the end of the stream (its message says if a
// frame was cut short), kDataLoss/kResourceExhausted for a stream that cannot be trusted any
// more (a malformed header, a frame over the limit), and the errno of a
// failed system call (EPIPE when the reader is gone; the SIGPIPE it raises is consumed when the
// calling thread blocks SIGPIPE, as the manager thread does). After a read or write error the
// channel's direction is finished: later calls return the same status.
//
// Thread safety: thread-compatible; one thread at a time. It never closes its descriptors.
#ifndef CF_PROCESS_POOL_INTERNAL_FRAME_CHANNEL_H_
#define CF_PROCESS_POOL_INTERNAL_FRAME_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "cf/serialization/wire.h"

namespace cf::internal {

class FrameChannel {
 public:
  // Payloads at least this big are vmsplice()d (see the file comment).
  static constexpr size_t kSpliceThreshold = 256 << 10;

  // The descriptors' blocking mode is read here: set O_NONBLOCK before, if wanted.
  FrameChannel(int read_fd, int write_fd, std::uint64_t max_payload_size);
  FrameChannel(const FrameChannel&) = delete;
  FrameChannel& operator=(const FrameChannel&) = delete;

  std::uint64_t max_payload_size() const { return max_payload_size_; }
  // For frames queued and headers decoded from now on.
  void set_max_payload_size(std::uint64_t limit);

  // ---- Writing ----
  // Queues a frame. `payload` must stay alive and unchanged until it has been written (no
  // longer has_output()) and, for spliced payloads, read. kResourceExhausted (nothing queued)
  // for a payload over the limit; the earlier write error if the channel failed.
  absl::Status Queue(FrameKind kind, std::uint64_t id, absl::Span<const char> payload);
  // Writes queued frames. Non-blocking descriptors: as much as the pipe takes now (OK with
  // output left is normal). Blocking ones: all of it. On an error the queue is dropped.
  absl::Status Flush();
  // Queue() then Flush() until written: for blocking descriptors (the worker).
  absl::Status Write(FrameKind kind, std::uint64_t id, absl::Span<const char> payload);
  bool has_output() const { return !out_.empty(); }
  // Forgets queued frames (their payloads are about to go), e.g. when the reader is dead.
  void DropOutput() { out_.clear(); }

  // ---- Reading ----
  // Reads what is there without waiting (non-blocking descriptor) and hands each whole frame to
  // on_frame, which returns false to stop early. OK when the pipe is empty for now.
  absl::Status ReadAvailable(absl::FunctionRef<bool(Frame&)> on_frame);
  // Blocks until the next whole frame (blocking descriptor).
  absl::Status ReadFrame(Frame* frame);
  // Capacity to reuse for the next large payload.
  void RecycleBuffer(ByteBuffer buffer) { decoder_.RecycleBuffer(std::move(buffer)); }
  bool at_frame_boundary() const {
    return decoder_.AtFrameBoundary() && staged_begin_ == staged_end_;
  }

 private:
  struct Out {
    char header[kFrameHeaderSize];
    absl::Span<const char> payload;
    size_t written = 0;  // of header + payload
  };
  // One read() into the decoder or the staging buffer; false when nothing more can be read now.
  absl::Status ReadSome(bool* progress);
  // Moves staged bytes into the decoder, up to the end of a frame.
  absl::Status DecodeStaged();
  absl::Status FailRead(absl::Status status);
  absl::Status FailWrite(absl::Status status);

  const int read_fd_;
  const int write_fd_;
  std::uint64_t max_payload_size_;
  const bool nonblocking_write_;
  std::deque<Out> out_;
  absl::Status write_status_;
  FrameDecoder decoder_;
  std::unique_ptr<char[]> staging_;
  size_t staged_begin_ = 0;
  size_t staged_end_ = 0;
  absl::Status read_status_;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_FRAME_CHANNEL_H_
