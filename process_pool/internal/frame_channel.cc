#include "cf/process_pool/internal/frame_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

constexpr size_t kStagingSize = 64 * 1024;

// After EPIPE: a SIGPIPE that the write raised in this thread, where it is blocked, is consumed
// so that it is never delivered later. (Where it is not blocked it already acted.)
void ConsumeSigpipe() {
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) != 0 || !sigismember(&pending, SIGPIPE)) return;
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  const timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
  }
}

bool IsNonBlocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

void WaitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

}  // namespace

FrameChannel::FrameChannel(int read_fd, int write_fd, std::uint64_t max_payload_size)
    : read_fd_(read_fd),
      write_fd_(write_fd),
      max_payload_size_(max_payload_size),
      nonblocking_write_(IsNonBlocking(write_fd)),
      decoder_(max_payload_size) {}

void FrameChannel::set_max_payload_size(std::uint64_t limit) {
  max_payload_size_ = limit;
  decoder_.set_max_payload_size(limit);
}

absl::Status FrameChannel::FailWrite(absl::Status status) {
  out_.clear();
  write_status_ = std::move(status);
  return write_status_;
}

absl::Status FrameChannel::FailRead(absl::Status status) {
  read_status_ = std::move(status);
  return read_status_;
}

absl::Status FrameChannel::Queue(FrameKind kind, std::uint64_t id,
                                 absl::Span<const char> payload) {
  if (!write_status_.ok()) return write_status_;
  if (payload.size() > max_payload_size_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a ", FrameKindName(kind), " frame of ", payload.size(),
        " bytes is over the frame limit of ", max_payload_size_, " bytes"));
  }
  Out& out = out_.emplace_back();
  EncodeFrameHeader(FrameHeader{kind, id, payload.size()}, out.header);
  out.payload = payload;
  return absl::OkStatus();
}

absl::Status FrameChannel::Flush() {
  if (!write_status_.ok()) return write_status_;
  const bool nonblocking = nonblocking_write_;
  while (!out_.empty()) {
    Out& first = out_.front();
    ssize_t n;
    const size_t payload_done =
        first.written > kFrameHeaderSize ? first.written - kFrameHeaderSize : 0;
    if (first.written >= kFrameHeaderSize &&
        first.payload.size() - payload_done >= kSpliceThreshold) {
      // The header is out: the big payload goes by reference.
      iovec iov{const_cast<char*>(first.payload.data()) + payload_done,
                first.payload.size() - payload_done};
      n = vmsplice(write_fd_, &iov, 1, nonblocking ? SPLICE_F_NONBLOCK : 0);
    } else {
      // Headers and small payloads, gathered: stop before a payload that will be spliced.
      iovec iov[64];
      int count = 0;
      for (auto it = out_.begin(); it != out_.end() && count < 62; ++it) {
        size_t skip = it->written;
        if (skip < kFrameHeaderSize) {
          iov[count++] = {it->header + skip, kFrameHeaderSize - skip};
          skip = 0;
        } else {
          skip -= kFrameHeaderSize;
        }
        if (it->payload.size() - skip >= kSpliceThreshold) break;
        if (it->payload.size() > skip) {
          iov[count++] = {const_cast<char*>(it->payload.data()) + skip,
                          it->payload.size() - skip};
        }
      }
      n = writev(write_fd_, iov, count);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (nonblocking) return absl::OkStatus();
        WaitFor(write_fd_, POLLOUT);
        continue;
      }
      const int error = errno;
      if (error == EPIPE) ConsumeSigpipe();
      return FailWrite(absl::ErrnoToStatus(error, "write to a worker pipe"));
    }
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      Out& front = out_.front();
      const size_t total = kFrameHeaderSize + front.payload.size();
      const size_t take = std::min(left, total - front.written);
      front.written += take;
      left -= take;
      if (front.written == total) out_.pop_front();
    }
  }
  return absl::OkStatus();
}

absl::Status FrameChannel::Write(FrameKind kind, std::uint64_t id,
                                 absl::Span<const char> payload) {
  if (absl::Status s = Queue(kind, id, payload); !s.ok()) return s;
  while (has_output()) {
    if (absl::Status s = Flush(); !s.ok()) return s;
    if (has_output()) WaitFor(write_fd_, POLLOUT);
  }
  return absl::OkStatus();
}

absl::Status FrameChannel::ReadSome(bool* progress) {
  *progress = false;
  absl::Span<char> want = decoder_.WritableSpan();
  const bool direct = want.size() >= kStagingSize;
  if (!direct && staging_ == nullptr) staging_.reset(new char[kStagingSize]);
  ssize_t n;
  do {
    n = read(read_fd_, direct ? want.data() : staging_.get(), direct ? want.size() : kStagingSize);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    *progress = true;
    if (direct) {
      if (absl::Status s = decoder_.Commit(static_cast<size_t>(n)); !s.ok()) return FailRead(s);
    } else {
      staged_begin_ = 0;
      staged_end_ = static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }
  if (n == 0) {
    if (decoder_.AtFrameBoundary()) {
      return FailRead(absl::OutOfRangeError("end of stream: the other side closed its pipe"));
    }
    return FailRead(absl::OutOfRangeError(decoder_.Finish().message()));
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
  return FailRead(absl::ErrnoToStatus(errno, "read from a worker pipe"));
}

absl::Status FrameChannel::DecodeStaged() {
  while (staged_begin_ < staged_end_ && !decoder_.frame_ready()) {
    absl::StatusOr<size_t> used = decoder_.Append(
        absl::MakeConstSpan(staging_.get() + staged_begin_, staged_end_ - staged_begin_));
    if (!used.ok()) return FailRead(used.status());
    staged_begin_ += *used;
  }
  return absl::OkStatus();
}

absl::Status FrameChannel::ReadAvailable(absl::FunctionRef<bool(Frame&)> on_frame) {
  if (!read_status_.ok()) return read_status_;
  bool drained = false;  // the last staging read came back short: the pipe is empty for now
  for (;;) {
    if (absl::Status s = DecodeStaged(); !s.ok()) return s;
    if (decoder_.frame_ready()) {
      Frame frame = decoder_.TakeFrame();
      if (!on_frame(frame)) return absl::OkStatus();
      continue;
    }
    if (drained) return absl::OkStatus();
    const bool staged_read = decoder_.WritableSpan().size() < kStagingSize;
    bool progress = false;
    if (absl::Status s = ReadSome(&progress); !s.ok()) return s;
    if (!progress) return absl::OkStatus();
    drained = staged_read && staged_end_ < kStagingSize;
  }
}

absl::Status FrameChannel::ReadFrame(Frame* frame) {
  if (!read_status_.ok()) return read_status_;
  if (decoder_.AtFrameBoundary()) decoder_.RecycleBuffer(std::move(frame->payload));
  for (;;) {
    if (absl::Status s = DecodeStaged(); !s.ok()) return s;
    if (decoder_.frame_ready()) {
      *frame = decoder_.TakeFrame();
      return absl::OkStatus();
    }
    bool progress = false;
    if (absl::Status s = ReadSome(&progress); !s.ok()) return s;
    if (!progress) WaitFor(read_fd_, POLLIN);
  }
}

}  // namespace cf::internal
