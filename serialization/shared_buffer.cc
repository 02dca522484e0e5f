#include "cf/serialization/shared_buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "cf/core/errors.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/internal/shared_buffer_state.h"

namespace cf {
namespace internal {
namespace {

// "F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW": what a receiver requires. The creator also adds
// F_SEAL_SEAL, so nobody can loosen them.
constexpr int kRequiredSeals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
// The first field of an encoded SharedBuffer ("cfSB"), to tell it from any other value.
constexpr std::uint32_t kTag = 0x42536663;

std::string ErrnoText(int error) {
  const char* name = strerrorname_np(error);
  const char* text = strerrordesc_np(error);
  return absl::StrCat(name != nullptr ? name : absl::StrCat("errno ", error), " (",
                      text != nullptr ? text : "unknown error", ")");
}

// What to do about `error` from a call that makes or maps a buffer.
std::string Advice(int error) {
  switch (error) {
    case EMFILE:
      return "this process has no file descriptor left: drop SharedBuffers you no longer need, "
             "or raise its limit (ulimit -n, RLIMIT_NOFILE)";
    case ENFILE:
      return "the system has no file descriptor left: drop SharedBuffers you no longer need";
    case ENOMEM:
    case ENOSPC:
      return "not enough memory or address space (RLIMIT_AS): use a smaller buffer or free "
             "memory";
    case EFBIG:
    case EINVAL:
      return "the size is over the system's limits (RLIMIT_FSIZE, the address space): use a "
             "smaller buffer";
    case ENOSYS:
      return "this kernel has no memfd_create (Linux 3.17 or later is needed)";
    default:
      return "see the system call's manual page";
  }
}

SharedBufferError MakeError(absl::string_view what, std::size_t size, int error) {
  return SharedBufferError(absl::StrCat("cf::SharedBuffer of ", size, " bytes: ", what,
                                        " failed: ", ErrnoText(error), ": ", Advice(error)));
}

// Opens and maps the buffer that descriptor `fd` of process `pid` holds, checking it is the file
// (dev, ino), sealed, of `size` bytes. Throws SerializationError naming the cause.
std::shared_ptr<SharedBufferState> OpenRemote(pid_t pid, int fd, std::uint64_t size,
                                              dev_t dev, ino_t ino) {
  const std::string path = absl::StrCat("/proc/", pid, "/fd/", fd);
  auto fail = [&](absl::string_view cause) {
    return SerializationError(absl::StrCat("cannot map the cf::SharedBuffer of process ", pid,
                                           " (descriptor ", fd, ", ", size, " bytes): ", cause));
  };
  auto check = [&](const struct stat& st) {
    if (!S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino) {
      throw fail(absl::StrCat(path, " is another file (", st.st_dev, ":", st.st_ino,
                              ", expected ", dev, ":", ino, "): the buffer was released and its "
                              "descriptor reused, or the payload is not what cf encoded"));
    }
    if (static_cast<std::uint64_t>(st.st_size) != size) {
      throw fail(absl::StrCat("the file has ", st.st_size, " bytes, the payload announces ",
                              size));
    }
  };
  // stat() first: it follows the link without opening it, so a forged payload naming a pipe or
  // a device opens nothing (and cannot block in open()).
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const int error = errno;
    struct stat proc;
    if (error == EACCES || error == EPERM) {
      throw fail(absl::StrCat(
          "permission denied on ", path, " (", ErrnoText(error), "): the process runs as another "
          "user, is not dumpable (prctl PR_SET_DUMPABLE, e.g. after setuid), or /proc is mounted "
          "with hidepid; both processes must be the same user's and dumpable"));
    }
    if (stat("/proc/self/fd", &proc) != 0) {
      throw fail("/proc is not mounted in this process; cf::SharedBuffer needs it");
    }
    if (stat(absl::StrCat("/proc/", pid).c_str(), &proc) != 0) {
      throw fail(absl::StrCat("process ", pid, " has exited (the sender must keep the buffer "
                              "alive until the receiver has decoded it)"));
    }
    throw fail(absl::StrCat(path, ": ", ErrnoText(error), ": process ", pid,
                            " released the buffer (or is exiting) before it was decoded (the "
                            "sender must keep it alive until the receiver has decoded it)"));
  }
  check(st);
  auto state = std::make_shared<SharedBufferState>();
  state->fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (state->fd < 0) {
    const int error = errno;
    throw fail(absl::StrCat("open(", path, ") failed: ", ErrnoText(error),
                            error == EMFILE || error == ENFILE ? absl::StrCat(": ", Advice(error))
                                                               : ""));
  }
  state->pid = getpid();
  // The descriptor may have been closed and reused between stat() and open().
  if (fstat(state->fd, &st) != 0) throw fail(absl::StrCat("fstat: ", ErrnoText(errno)));
  check(st);
  const int seals = fcntl(state->fd, F_GET_SEALS);
  if (seals < 0 || (seals & kRequiredSeals) != kRequiredSeals) {
    const std::string found =
        seals < 0 ? ErrnoText(errno) : absl::StrCat("seals 0x", absl::Hex(seals));
    throw fail(absl::StrCat("the file is not sealed against writing and resizing (", found,
                            "): it is not a sealed cf::SharedBuffer"));
  }
  // Read-only and MAP_PRIVATE, like the creator's own (see Seal()): the page cache's pages,
  // never copied since nothing writes them.
  void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, state->fd, 0);
  if (data == MAP_FAILED) {
    const int error = errno;
    throw fail(absl::StrCat("mmap failed: ", ErrnoText(error), ": ", Advice(error)));
  }
  state->data = static_cast<char*>(data);
  state->size = size;
  state->dev = dev;
  state->ino = ino;
  state->sealed.store(true, std::memory_order_release);
  return state;
}

}  // namespace
}  // namespace internal

using internal::SharedBufferState;

SharedBuffer SharedBuffer::Create(std::size_t size) {
  auto state = std::make_shared<SharedBufferState>();
  state->pid = getpid();
  if (size == 0) {  // nothing to map
    state->writable = true;
    return SharedBuffer(std::move(state));
  }
  // The pages are allocated now (below): refuse what this machine cannot hold at all, rather
  // than let fallocate() run it out of memory.
  struct sysinfo info;
  if (sysinfo(&info) == 0) {
    const unsigned __int128 memory =
        (static_cast<unsigned __int128>(info.totalram) + info.totalswap) * info.mem_unit;
    if (size > memory) {
      throw SharedBufferError(absl::StrCat(
          "cf::SharedBuffer of ", size, " bytes: larger than this machine's memory and swap (",
          static_cast<std::uint64_t>(memory), " bytes): use a smaller buffer"));
    }
  }
  state->fd = memfd_create("cf::SharedBuffer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (state->fd < 0) throw internal::MakeError("memfd_create", size, errno);
  if (ftruncate(state->fd, static_cast<off_t>(size)) != 0) {
    throw internal::MakeError("ftruncate", size, errno);
  }
  // Allocating every page now reports a lack of memory here, as an error (ENOSPC, ENOMEM), and
  // with MAP_POPULATE makes Create + fill about a third faster than a fault per page.
  if (fallocate(state->fd, 0, 0, static_cast<off_t>(size)) != 0 && errno != EOPNOTSUPP) {
    throw internal::MakeError("fallocate", size, errno);
  }
  struct stat st;
  if (fstat(state->fd, &st) != 0) throw internal::MakeError("fstat", size, errno);
  state->dev = st.st_dev;
  state->ino = st.st_ino;
  void* data =
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, state->fd, 0);
  if (data == MAP_FAILED) throw internal::MakeError("mmap", size, errno);
  // A fork() meanwhile (a kFork pool starting a worker on its manager thread) must not leave
  // a writable mapping in the child: F_SEAL_WRITE fails with EBUSY while one exists anywhere.
  madvise(data, size, MADV_DONTFORK);
  state->data = static_cast<char*>(data);
  state->size = size;
  state->writable = true;
  return SharedBuffer(std::move(state));
}

SharedBuffer SharedBuffer::Copy(absl::Span<const char> bytes) {
  SharedBuffer buffer = Create(bytes.size());
  if (!bytes.empty()) std::memcpy(buffer.state_->data, bytes.data(), bytes.size());
  buffer.Seal();
  return buffer;
}

absl::Span<char> SharedBuffer::mutable_data() {
  if (sealed()) {
    throw InvalidStateError(
        "cf::SharedBuffer::mutable_data() on a sealed buffer: a sealed buffer is immutable; "
        "Copy() its data() into a new buffer to change it");
  }
  if (!state_->writable) {
    throw SharedBufferError(
        "cf::SharedBuffer::mutable_data(): the buffer lost its writable mapping when Seal() "
        "failed; Copy() its data() into a new buffer");
  }
  return absl::Span<char>(state_->data, state_->size);
}

void SharedBuffer::Seal() {
  if (sealed()) return;
  SharedBufferState& s = *state_;
  if (s.size > 0) {
    // The read-only mapping first, so that a failure leaves the buffer as it was. MAP_PRIVATE:
    // a private mapping blocks no seal, and kernels before 6.7 refuse a MAP_SHARED one of a
    // write-sealed memfd through a descriptor open for writing. Nothing ever writes it, so it
    // maps the page cache's pages (no copy); a write through a const_cast is a SIGSEGV.
    void* read_only = mmap(nullptr, s.size, PROT_READ, MAP_PRIVATE, s.fd, 0);
    if (read_only == MAP_FAILED) throw internal::MakeError("mmap (Seal)", s.size, errno);
    // F_SEAL_WRITE needs the writable shared mapping gone.
    munmap(s.data, s.size);
    s.data = static_cast<char*>(read_only);
    if (fcntl(s.fd, F_ADD_SEALS, internal::kRequiredSeals | F_SEAL_SEAL) != 0) {
      const int error = errno;  // EBUSY: another process mapped it writable through /proc
      void* writable = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, 0);
      if (writable != MAP_FAILED) {
        madvise(writable, s.size, MADV_DONTFORK);
        munmap(read_only, s.size);
        s.data = static_cast<char*>(writable);
      } else {
        s.writable = false;  // the bytes are still there, read-only
      }
      throw internal::MakeError("fcntl(F_ADD_SEALS)", s.size, error);
    }
  }
  s.sealed.store(true, std::memory_order_release);
  if (s.size > 0) internal::SharedBufferRegistry::Get().Add(state_);
}

bool SharedBuffer::sealed() const {
  return state_ == nullptr || state_->sealed.load(std::memory_order_acquire);
}

absl::Span<const char> SharedBuffer::data() const {
  if (state_ == nullptr) return {};
  return absl::Span<const char>(state_->data, state_->size);
}

std::size_t SharedBuffer::size() const { return state_ == nullptr ? 0 : state_->size; }

void SharedBuffer::save(internal::WireOutputArchive& archive) const {
  if (!sealed()) {
    throw SerializationError(absl::StrCat(
        "cf::SharedBuffer of ", size(), " bytes is not sealed, so it cannot be sent to another "
        "process: call Seal() on it once it is filled, before submitting it"));
  }
  const std::uint64_t bytes = size();
  archive(internal::kTag, bytes);
  if (bytes == 0) return;
  const SharedBufferState& s = *state_;
  if (s.pid != getpid() && !internal::IsFile(s.fd, s.dev, s.ino)) {
    throw SerializationError(absl::StrCat(
        "cf::SharedBuffer of ", bytes, " bytes was inherited through fork() and its descriptor ",
        s.fd, " is not open in this process any more: Copy() it in the process that sends it"));
  }
  const std::int32_t pid = getpid();
  const std::int32_t fd = s.fd;
  archive(pid, fd, static_cast<std::uint64_t>(s.dev), static_cast<std::uint64_t>(s.ino));
  archive.Attach(state_);
}

void SharedBuffer::load(internal::WireInputArchive& archive) {
  std::uint32_t tag = 0;
  std::uint64_t bytes = 0;
  archive(tag, bytes);
  if (tag != internal::kTag) {
    throw SerializationError("malformed payload: this is not an encoded cf::SharedBuffer");
  }
  if (bytes == 0) {
    state_ = nullptr;
    return;
  }
  std::int32_t pid = 0;
  std::int32_t fd = 0;
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  archive(pid, fd, dev, ino);
  if (pid <= 0 || fd < 0 ||
      bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    throw SerializationError(absl::StrCat("malformed payload: a cf::SharedBuffer of ", bytes,
                                          " bytes at descriptor ", fd, " of process ", pid));
  }
  internal::SharedBufferRegistry& registry = internal::SharedBufferRegistry::Get();
  std::shared_ptr<SharedBufferState> state = registry.Find(dev, ino);
  if (state == nullptr) state = registry.Add(internal::OpenRemote(pid, fd, bytes, dev, ino));
  if (state->size != bytes) {
    throw SerializationError(absl::StrCat("cf::SharedBuffer: the payload announces ", bytes,
                                          " bytes, the buffer it names has ", state->size));
  }
  state_ = std::move(state);
}

}  // namespace cf
