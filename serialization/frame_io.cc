// FrameReader and FrameWriter: frames over a file descriptor (cf/serialization/wire.h). The
// header codec and FrameDecoder are in wire.cc.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/internal/fd_io.h"
#include "cf/serialization/wire.h"

namespace cf {
namespace {

// Small reads go through a staging buffer of this size; a read that still needs at least this
// many bytes goes straight into the payload.
constexpr size_t kStagingSize = 64 * 1024;
// Frames up to this size (header included) are written from one contiguous stack buffer.
constexpr size_t kSmallFrameSize = 512;

// Remaining time until `deadline` as a timespec; nullptr (wait forever) for an infinite one.
const struct timespec* TimeoutUntil(absl::Time deadline, struct timespec* storage) {
  if (deadline == absl::InfiniteFuture()) return nullptr;
  absl::Duration left = deadline - absl::Now();
  if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
  *storage = absl::ToTimespec(left);
  return storage;
}

// Waits until `fd` is ready for `events`, or the deadline. kDeadlineExceeded on timeout.
absl::Status WaitFor(internal::FdIo& io, int fd, short events, absl::Time deadline,
                     const char* what) {
  if (fd < 0) {  // poll() would silently ignore it and wait out the deadline
    return absl::ErrnoToStatus(EBADF, absl::StrFormat("fd %d (while %s)", fd, what));
  }
  while (true) {
    struct pollfd pfd = {fd, events, 0};
    struct timespec storage;
    const int n = io.Poll(&pfd, 1, TimeoutUntil(deadline, &storage));
    if (n > 0) {
      if (pfd.revents & POLLNVAL) {
        return absl::FailedPreconditionError(
            absl::StrFormat("fd %d is not open (while %s)", fd, what));
      }
      return absl::OkStatus();  // ready, or POLLHUP/POLLERR: the next system call reports it
    }
    if (n == 0) {
      return absl::DeadlineExceededError(
          absl::StrFormat("deadline passed while %s on fd %d", what, fd));
    }
    if (errno != EINTR) return absl::ErrnoToStatus(errno, absl::StrFormat("poll fd %d", fd));
  }
}

// Blocks SIGPIPE in the calling thread for its lifetime (see FrameWriter::Options).
class SigpipeGuard {
 public:
  explicit SigpipeGuard(bool active) {
    if (!active) return;
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t old;
    if (pthread_sigmask(SIG_BLOCK, &pipe_set_, &old) != 0) return;
    old_ = old;
    active_ = !sigismember(&old, SIGPIPE);  // already blocked: the caller owns SIGPIPE
  }
  ~SigpipeGuard() {
    if (active_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  // After EPIPE: swallow the SIGPIPE the write raised, so unblocking does not deliver it.
  void ConsumePending() {
    if (!active_) return;
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) != 0 || !sigismember(&pending, SIGPIPE)) return;
    const struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }

 private:
  bool active_ = false;
  sigset_t pipe_set_;
  sigset_t old_;
};

}  // namespace

// --- FrameReader ---

FrameReader::FrameReader(int fd) : FrameReader(fd, Options()) {}

FrameReader::FrameReader(int fd, Options options)
    : fd_(fd),
      io_(options.io != nullptr ? options.io : &internal::FdIo::System()),
      decoder_(options.max_payload_size) {}

FrameReader::~FrameReader() = default;

bool FrameReader::has_buffered_bytes() const {
  return staged_begin_ < staged_end_ || !decoder_.AtFrameBoundary();
}

absl::Status FrameReader::WaitReadable(absl::Time deadline) {
  return WaitFor(*io_, fd_, POLLIN, deadline, "waiting for a frame");
}

absl::Status FrameReader::ReadInto(Frame* frame, absl::Time deadline) {
  if (!status_.ok()) return status_;
  auto fail = [this](absl::Status status) {
    status_ = std::move(status);
    return status_;
  };
  if (decoder_.AtFrameBoundary()) decoder_.RecycleBuffer(std::move(frame->payload));
  const bool bounded = deadline != absl::InfiniteFuture();
  while (!decoder_.frame_ready()) {
    if (staged_begin_ < staged_end_) {
      absl::StatusOr<size_t> used = decoder_.Append(absl::Span<const char>(
          staging_.get() + staged_begin_, staged_end_ - staged_begin_));
      if (!used.ok()) return fail(used.status());
      staged_begin_ += *used;
      continue;
    }
    absl::Span<char> target = decoder_.WritableSpan();
    const bool direct = target.size() >= kStagingSize;
    if (!direct && staging_ == nullptr) staging_.reset(new char[kStagingSize]);
    char* destination = direct ? target.data() : staging_.get();
    const size_t wanted = direct ? target.size() : kStagingSize;
    if (bounded) {
      absl::Status ready = WaitReadable(deadline);
      if (absl::IsDeadlineExceeded(ready)) return ready;  // keep our place
      if (!ready.ok()) return fail(std::move(ready));
    }
    const ssize_t n = io_->Read(fd_, destination, wanted);
    if (n > 0) {
      if (direct) {
        absl::Status status = decoder_.Commit(static_cast<size_t>(n));
        if (!status.ok()) return fail(std::move(status));
      } else {
        staged_begin_ = 0;
        staged_end_ = static_cast<size_t>(n);
      }
      continue;
    }
    if (n == 0) {
      if (decoder_.AtFrameBoundary()) {
        return fail(absl::OutOfRangeError(
            absl::StrFormat("end of stream: fd %d was closed by the writer", fd_)));
      }
      return fail(decoder_.Finish());
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      absl::Status ready = WaitReadable(deadline);
      if (absl::IsDeadlineExceeded(ready)) return ready;
      if (!ready.ok()) return fail(std::move(ready));
      continue;
    }
    return fail(absl::ErrnoToStatus(errno, absl::StrFormat("read from fd %d", fd_)));
  }
  *frame = decoder_.TakeFrame();
  return absl::OkStatus();
}

absl::StatusOr<Frame> FrameReader::Read(absl::Time deadline) {
  Frame frame;
  absl::Status status = ReadInto(&frame, deadline);
  if (!status.ok()) return status;
  return frame;
}

// --- FrameWriter ---

FrameWriter::FrameWriter(int fd) : FrameWriter(fd, Options()) {}

FrameWriter::FrameWriter(int fd, Options options)
    : fd_(fd),
      options_(options),
      io_(options.io != nullptr ? options.io : &internal::FdIo::System()) {
  if (options_.suppress_sigpipe) {
    struct sigaction current;
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
        current.sa_handler == SIG_IGN) {
      sigpipe_ignored_ = true;
    }
  }
}

absl::Status FrameWriter::Write(FrameKind kind, std::uint64_t task_id,
                                absl::Span<const char> payload, absl::Time deadline) {
  return WriteParts(kind, task_id, absl::MakeConstSpan(&payload, 1), deadline);
}

absl::Status FrameWriter::WriteParts(FrameKind kind, std::uint64_t task_id,
                                     absl::Span<const absl::Span<const char>> parts,
                                     absl::Time deadline) {
  if (!status_.ok()) return status_;
  auto fail = [this](absl::Status status) {
    status_ = std::move(status);
    return status_;
  };
  std::uint64_t payload_size = 0;
  for (const auto& part : parts) payload_size += part.size();
  if (payload_size > options_.max_payload_size) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "frame payload of %d bytes exceeds the limit of %d bytes (%s frame, task %d); nothing "
        "was written",
        payload_size, options_.max_payload_size, FrameKindName(kind), task_id));
  }
  // A small frame is copied into one buffer (one iovec is cheaper for the kernel than several);
  // a large one is gathered from its pieces with no copy.
  char small[kSmallFrameSize];
  absl::InlinedVector<struct iovec, 8> iov;
  if (kFrameHeaderSize + payload_size <= kSmallFrameSize) {
    EncodeFrameHeader(FrameHeader{kind, task_id, payload_size}, small);
    size_t offset = kFrameHeaderSize;
    for (const auto& part : parts) {
      if (part.empty()) continue;
      std::memcpy(small + offset, part.data(), part.size());
      offset += part.size();
    }
    iov.push_back({small, offset});
  } else {
    EncodeFrameHeader(FrameHeader{kind, task_id, payload_size}, small);
    iov.push_back({small, kFrameHeaderSize});
    for (const auto& part : parts) {
      if (!part.empty()) iov.push_back({const_cast<char*>(part.data()), part.size()});
    }
  }

  SigpipeGuard guard(options_.suppress_sigpipe && !sigpipe_ignored_);
  const bool bounded = deadline != absl::InfiniteFuture();
  std::uint64_t written = 0;
  size_t index = 0;
  auto deadline_status = [&](absl::Status status) {
    if (written == 0) return status;  // nothing sent: the stream is intact
    return fail(absl::DeadlineExceededError(absl::StrFormat(
        "%s; the frame was cut after %d of %d bytes and fd %d can carry no more frames",
        status.message(), written, kFrameHeaderSize + payload_size, fd_)));
  };
  while (index < iov.size()) {
    if (bounded) {
      absl::Status ready = WaitFor(*io_, fd_, POLLOUT, deadline, "writing a frame");
      if (absl::IsDeadlineExceeded(ready)) return deadline_status(std::move(ready));
      if (!ready.ok()) return fail(std::move(ready));
    }
    const int count = static_cast<int>(std::min<size_t>(iov.size() - index, IOV_MAX));
    const ssize_t n = io_->Writev(fd_, iov.data() + index, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        absl::Status ready = WaitFor(*io_, fd_, POLLOUT, deadline, "writing a frame");
        if (absl::IsDeadlineExceeded(ready)) return deadline_status(std::move(ready));
        if (!ready.ok()) return fail(std::move(ready));
        continue;
      }
      const int error = errno;
      if (error == EPIPE) {
        guard.ConsumePending();
        return fail(absl::ErrnoToStatus(
            error, absl::StrFormat("write to fd %d: the reader closed the pipe", fd_)));
      }
      return fail(absl::ErrnoToStatus(error, absl::StrFormat("write to fd %d", fd_)));
    }
    written += static_cast<std::uint64_t>(n);
    size_t advance = static_cast<size_t>(n);
    while (index < iov.size() && advance >= iov[index].iov_len) {
      advance -= iov[index].iov_len;
      ++index;
    }
    if (index < iov.size()) {
      iov[index].iov_base = static_cast<char*>(iov[index].iov_base) + advance;
      iov[index].iov_len -= advance;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> EnlargePipeBuffer(int fd, int bytes) {
  const int current = fcntl(fd, F_GETPIPE_SZ);
  if (current < 0) return absl::ErrnoToStatus(errno, absl::StrFormat("F_GETPIPE_SZ fd %d", fd));
  if (current >= bytes) return current;
  if (fcntl(fd, F_SETPIPE_SZ, bytes) >= 0) return fcntl(fd, F_GETPIPE_SZ);
  if (errno != EPERM) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("F_SETPIPE_SZ %d on fd %d", bytes, fd));
  }
  int limit = 0;
  if (FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "r")) {
    if (std::fscanf(f, "%d", &limit) != 1) limit = 0;
    std::fclose(f);
  }
  if (limit > current) fcntl(fd, F_SETPIPE_SZ, limit);
  return fcntl(fd, F_GETPIPE_SZ);
}
}  // namespace cf
