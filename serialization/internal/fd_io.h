// Internal: the system calls FrameReader and FrameWriter make, behind an interface so tests can
// inject short reads, short writes, EINTR and EAGAIN deterministically.
#ifndef CF_SERIALIZATION_INTERNAL_FD_IO_H_
#define CF_SERIALIZATION_INTERNAL_FD_IO_H_

#include <poll.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

namespace cf::internal {

class FdIo {
 public:
  virtual ~FdIo() = default;
  // Same contracts as read(2), writev(2) and ppoll(2) (without a signal mask).
  virtual ssize_t Read(int fd, void* buffer, size_t size);
  virtual ssize_t Writev(int fd, const struct iovec* iov, int iov_count);
  virtual int Poll(struct pollfd* fds, nfds_t count, const struct timespec* timeout);

  // The real system calls.
  static FdIo& System();
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_FD_IO_H_
