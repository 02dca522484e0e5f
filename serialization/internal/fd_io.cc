#include "cf/serialization/internal/fd_io.h"

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

namespace cf::internal {

ssize_t FdIo::Read(int fd, void* buffer, size_t size) { return ::read(fd, buffer, size); }

ssize_t FdIo::Writev(int fd, const struct iovec* iov, int iov_count) {
  return ::writev(fd, iov, iov_count);
}

int FdIo::Poll(struct pollfd* fds, nfds_t count, const struct timespec* timeout) {
  return ::ppoll(fds, count, timeout, nullptr);
}

FdIo& FdIo::System() {
  static FdIo* const io = new FdIo();
  return *io;
}

}  // namespace cf::internal
