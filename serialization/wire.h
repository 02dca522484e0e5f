// cf/serialization/wire.h — frames: the unit that crosses a pipe between cf processes.
//
// A frame is a 24-byte header followed by a payload of up to max_payload_size bytes (default
// 1 GiB, configurable per reader and writer). The header, little-endian:
//
//   offset  size  field
//        0     4  magic "cfw1"   — catches a stream that is not ours or lost its place
//        4     1  kind           — FrameKind; any other value is an error
//        5     1  flags          — reserved, must be 0
//        6     2  reserved       — must be 0
//        8     8  task id        — chosen by the sender; replies carry the id of their call
//       16     8  payload size   — bytes that follow
//
// What the payloads hold (see task.h and exception.h for the encoders and decoders):
//   kCall, kInitialize  a TaskCall: a task name and the encoded arguments of one call or of a
//                       batch (a chunk of a Map), parent → worker
//   kResult             the encoded results of a kCall, in order, worker → parent
//   kException          an encoded ExceptionInfo: the kCall failed, worker → parent
//   kHello, kShutdown,  control frames whose payloads the process pool defines (a worker's
//   kGoodbye,           greeting, "finish and exit", "exiting", the pool's settings for a
//   kConfigure, kWake   worker, a doorbell: "look at the shared ring")
//
// Reading: FrameDecoder turns bytes into frames incrementally (push bytes with Append, or read
// straight into WritableSpan and Commit). FrameReader drives one over a file descriptor,
// handling short reads, EINTR, EAGAIN (non-blocking descriptors), end of stream and deadlines,
// and reads large payloads directly into the frame's buffer. FrameWriter writes a header and a
// payload with writev, handling short writes, EINTR, EAGAIN and EPIPE (without dying of
// SIGPIPE). Every malformed input is an absl::Status, never a crash, an exception or a hang:
//
//   code                 meaning
//   kOutOfRange          clean end of stream: the peer closed between frames (IsEndOfStream)
//   kDataLoss            the stream ended inside a frame (which field, how many bytes), or a
//                        header is malformed (bad magic, unknown kind, reserved bits set)
//   kResourceExhausted   a payload larger than max_payload_size
//   kDeadlineExceeded    the deadline passed; the reader keeps its place and may be called again
//   others               the system call's errno (absl::ErrnoToStatus), e.g. EPIPE, EBADF
// Except for kDeadlineExceeded (and a writer's size-limit refusal, which writes nothing), an
// error is final: the stream has lost its framing and later calls return the same status.
//
// Thread safety: FrameDecoder, FrameReader and FrameWriter are thread-compatible: one thread
// at a time per object (a reader and a writer on the two ends of a pipe may of course run in
// different threads). They never close the descriptor they were given.
//
// Example:
//   int fds[2]; pipe2(fds, O_CLOEXEC);
//   cf::FrameWriter writer(fds[1]);
//   absl::Status s = writer.Write(cf::FrameKind::kCall, /*task_id=*/7, call.payload());
//   cf::FrameReader reader(fds[0]);
//   absl::StatusOr<cf::Frame> frame = reader.Read(absl::Now() + absl::Seconds(5));
//   if (!frame.ok() && cf::IsEndOfStream(frame.status())) { /* the peer closed */ }
#ifndef CF_SERIALIZATION_WIRE_H_
#define CF_SERIALIZATION_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"

namespace cf {

namespace internal {
class FdIo;
}  // namespace internal

enum class FrameKind : std::uint8_t {
  kCall = 1,
  kResult = 2,
  kException = 3,
  kInitialize = 4,
  kHello = 5,
  kShutdown = 6,
  kGoodbye = 7,
  kConfigure = 8,
  kWake = 9,
};

// "call", "result", ...; "unknown" for other values.
absl::string_view FrameKindName(FrameKind kind);
bool IsValidFrameKind(std::uint8_t value);

inline constexpr size_t kFrameHeaderSize = 24;
inline constexpr std::uint64_t kDefaultMaxFramePayload = std::uint64_t{1} << 30;  // 1 GiB
// The magic as a little-endian u32: the bytes 'c' 'f' 'w' '1'.
inline constexpr std::uint32_t kFrameMagic = 0x31776663;

struct FrameHeader {
  FrameKind kind = FrameKind::kCall;
  std::uint64_t task_id = 0;
  std::uint64_t payload_size = 0;
};

// Writes the 24 header bytes to out[0..kFrameHeaderSize).
void EncodeFrameHeader(const FrameHeader& header, char* out);
// Parses and validates 24 header bytes.
absl::StatusOr<FrameHeader> DecodeFrameHeader(
    absl::Span<const char> bytes, std::uint64_t max_payload_size = kDefaultMaxFramePayload);

struct Frame {
  FrameKind kind = FrameKind::kCall;
  std::uint64_t task_id = 0;
  ByteBuffer payload;
};

// Appends a whole frame (header and payload) to *out: for tests, seeds and in-memory streams.
void AppendFrame(FrameKind kind, std::uint64_t task_id, absl::Span<const char> payload,
                 ByteBuffer* out);

// True for the status a reader returns when the stream ended cleanly between frames.
bool IsEndOfStream(const absl::Status& status);

// Incremental frame parser. Feed it bytes in pieces of any size; it validates each header field
// as soon as its bytes are in, allocates a payload only after the size passed the limit, and
// reports a finished frame through frame_ready()/TakeFrame().
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint64_t max_payload_size = kDefaultMaxFramePayload);

  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Pull style: where the next bytes of the stream belong (the rest of the header, or the rest of
  // the payload). Empty when a frame is ready or the decoder failed.
  absl::Span<char> WritableSpan();
  // `n` bytes were stored at the front of WritableSpan().
  absl::Status Commit(size_t n);

  // Push style: takes bytes from the front of `input`, never past the end of the current frame,
  // and returns how many it took (fewer than input.size() only when a frame became ready).
  absl::StatusOr<size_t> Append(absl::Span<const char> input);

  bool frame_ready() const { return state_ == State::kReady; }
  // The finished frame; the decoder moves on to the next one. Requires frame_ready().
  Frame TakeFrame();

  // Capacity to reuse for the next payload (its contents are discarded).
  void RecycleBuffer(ByteBuffer buffer);

  // True when no byte of an unfinished frame has been seen.
  bool AtFrameBoundary() const { return state_ == State::kHeader && header_filled_ == 0; }
  // The verdict at the end of the input: OK at a frame boundary; kDataLoss naming the field or
  // the payload byte count where the stream stopped; or the earlier error.
  absl::Status Finish() const;

  // OK, or the error that stopped the decoder (it is then final).
  const absl::Status& status() const { return status_; }
  std::uint64_t max_payload_size() const { return max_payload_size_; }
  // Changes the limit for the headers that follow (a header already parsed keeps its verdict).
  void set_max_payload_size(std::uint64_t limit) { max_payload_size_ = limit; }

 private:
  enum class State { kHeader, kPayload, kReady, kFailed };
  absl::Status CheckHeaderPrefix(size_t old_filled);
  absl::Status Fail(absl::Status status);

  std::uint64_t max_payload_size_;
  State state_ = State::kHeader;
  char header_[kFrameHeaderSize];
  size_t header_filled_ = 0;
  FrameHeader parsed_;
  size_t payload_filled_ = 0;
  Frame frame_;
  absl::Status status_;
};

// Reads frames from a file descriptor (blocking or O_NONBLOCK).
class FrameReader {
 public:
  struct Options {
    std::uint64_t max_payload_size = kDefaultMaxFramePayload;
    // Tests only: the system calls to use (default: the real ones).
    internal::FdIo* io = nullptr;
  };

  explicit FrameReader(int fd);
  FrameReader(int fd, Options options);
  ~FrameReader();

  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Blocks until a whole frame arrived (OK), the stream ended, an error, or `deadline`. Reuses
  // frame->payload's capacity; after an error *frame is unspecified. On kDeadlineExceeded the
  // bytes already read are kept, and the next call continues the same frame.
  absl::Status ReadInto(Frame* frame, absl::Time deadline = absl::InfiniteFuture());
  // The same, returning the frame.
  absl::StatusOr<Frame> Read(absl::Time deadline = absl::InfiniteFuture());

  int fd() const { return fd_; }
  // True while part of a frame (or a whole one) has been read and not yet returned.
  bool has_buffered_bytes() const;

 private:
  absl::Status WaitReadable(absl::Time deadline);

  int fd_;
  internal::FdIo* io_;
  FrameDecoder decoder_;
  std::unique_ptr<char[]> staging_;  // small reads land here, then go to the decoder
  size_t staged_begin_ = 0;
  size_t staged_end_ = 0;
  absl::Status status_;  // final error, if any
};

// Writes frames to a file descriptor (blocking or O_NONBLOCK).
class FrameWriter {
 public:
  struct Options {
    // A payload over this size is refused with kResourceExhausted before anything is written.
    std::uint64_t max_payload_size = kDefaultMaxFramePayload;
    // Keep a closed pipe from killing the process with SIGPIPE: while writing, SIGPIPE is
    // blocked in the calling thread (unless the process already ignores it), and a SIGPIPE the
    // write raised is consumed. The write then fails with EPIPE's status.
    bool suppress_sigpipe = true;
    // Tests only: the system calls to use (default: the real ones).
    internal::FdIo* io = nullptr;
  };

  explicit FrameWriter(int fd);
  FrameWriter(int fd, Options options);

  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  // Writes one frame whose payload is `payload` (a ByteBuffer, std::string, string_view...; note
  // that a string literal converts to a Span that includes its terminating NUL). Blocks until it is written, an error, or
  // `deadline`. kDeadlineExceeded before the first byte leaves the stream usable; after it, the
  // frame is cut and the writer fails from then on.
  absl::Status Write(FrameKind kind, std::uint64_t task_id, absl::Span<const char> payload,
                     absl::Time deadline = absl::InfiniteFuture());
  // The same with a payload gathered from several pieces (one writev, no copy).
  absl::Status WriteParts(FrameKind kind, std::uint64_t task_id,
                          absl::Span<const absl::Span<const char>> parts,
                          absl::Time deadline = absl::InfiniteFuture());

  int fd() const { return fd_; }

 private:
  int fd_;
  Options options_;
  internal::FdIo* io_;
  bool sigpipe_ignored_ = false;
  absl::Status status_;  // final error, if any
};

// Asks the kernel for a pipe buffer of at least `bytes` (F_SETPIPE_SZ), falling back to the
// largest an unprivileged process may have (/proc/sys/fs/pipe-max-size). Returns the size now
// in effect. Large buffers make big frames cross in fewer context switches.
absl::StatusOr<int> EnlargePipeBuffer(int fd, int bytes = 1 << 20);

}  // namespace cf

#endif  // CF_SERIALIZATION_WIRE_H_
