// cf::SharedBuffer within one process and across a fork(): its states, its errors, its encoding
// (a reference, never the bytes), the attachments that keep it alive while a TaskCall or a
// TaskOutcome refers to it, and decoding forged or stale references.
#include "cf/serialization/shared_buffer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/internal/shared_buffer_state.h"
#include "cf/serialization/task.h"
#include "cf/serialization/value.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/serialization/fork_child.h"

namespace cf::testing {

std::uint64_t Checksum(absl::Span<const char> bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}
std::uint64_t BufferChecksum(const SharedBuffer& buffer) { return Checksum(buffer.data()); }
SharedBuffer EchoBuffer(SharedBuffer buffer) { return buffer; }
SharedBuffer MakeBuffer(std::string text) { return SharedBuffer::Copy(text); }
std::uint64_t ThrowWithBuffer(SharedBuffer) { throw std::runtime_error("no"); }

}  // namespace cf::testing

CF_TASK(cf::testing::BufferChecksum);
CF_TASK(cf::testing::EchoBuffer);
CF_TASK(cf::testing::MakeBuffer);
CF_TASK(cf::testing::ThrowWithBuffer);

namespace cf::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

SharedBuffer Filled(std::size_t size, char seed) {
  SharedBuffer buffer = SharedBuffer::Create(size);
  absl::Span<char> bytes = buffer.mutable_data();
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(seed + i * 7);
  buffer.Seal();
  return buffer;
}

// How many descriptors of this process are SharedBuffer memfds.
int OpenBufferDescriptors() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (!error && target.find("memfd:cf::SharedBuffer") != std::string::npos) ++count;
  }
  return count;
}

// The permissions ("r--p") of the mapping holding `address`, from /proc/self/maps.
std::string Permissions(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  while (std::getline(maps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &begin, &end, perms) == 3 && begin <= at &&
        at < end) {
      return perms;
    }
  }
  return "unmapped";
}

// An encoded SharedBuffer reference with the given fields (the wire format is
// tag, size, pid, fd, st_dev, st_ino).
ByteBuffer Forge(std::uint64_t size, std::int32_t pid, std::int32_t fd, std::uint64_t dev,
                 std::uint64_t ino, std::uint32_t tag = 0x42536663) {
  return Encode(tag, size, pid, fd, dev, ino);
}

struct FileId {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
};
FileId IdOf(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return {};
  return {st.st_dev, st.st_ino};
}

// A memfd made by hand (so no SharedBuffer lists it), `size` bytes of `fill`, sealed or not.
int HandMadeMemfd(std::size_t size, char fill, bool seal) {
  const int fd = memfd_create("hand-made", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) return -1;
  std::string bytes(size, fill);
  if (write(fd, bytes.data(), size) != static_cast<ssize_t>(size)) return -1;
  if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) != 0) return -1;
  return fd;
}

std::string DecodeError(const ByteBuffer& bytes) {
  absl::StatusOr<SharedBuffer> decoded = Decode<SharedBuffer>(bytes);
  if (decoded.ok()) return "decoded";
  return std::string(decoded.status().message());
}

int ChildCheck(bool ok, int code) {
  if (!ok) std::fprintf(stderr, "child: check %d failed\n", code);
  return ok ? 0 : code;
}

// --- States. ---

TEST(SharedBufferTest, DefaultIsEmptyAndSealed) {
  SharedBuffer buffer;
  EXPECT_TRUE(buffer.sealed());
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_TRUE(buffer.data().empty());
  EXPECT_EQ(buffer.view(), "");
  EXPECT_THROW(buffer.mutable_data(), InvalidStateError);
  buffer.Seal();  // nothing to do
  EXPECT_TRUE(buffer.sealed());
}

TEST(SharedBufferTest, CreateIsWritableAndZeroFilledUntilSealed) {
  SharedBuffer buffer = SharedBuffer::Create(10000);
  EXPECT_FALSE(buffer.sealed());
  EXPECT_EQ(buffer.size(), 10000u);
  absl::Span<char> bytes = buffer.mutable_data();
  ASSERT_EQ(bytes.size(), 10000u);
  for (char c : bytes) ASSERT_EQ(c, 0);
  std::memset(bytes.data(), 'x', bytes.size());
  // The creator may read before sealing: the same memory.
  EXPECT_EQ(buffer.data().data(), bytes.data());
  EXPECT_EQ(buffer.view(), std::string(10000, 'x'));
  buffer.Seal();
  EXPECT_TRUE(buffer.sealed());
  EXPECT_EQ(buffer.view(), std::string(10000, 'x'));
}

TEST(SharedBufferTest, SealedBufferIsImmutableAndCopiesShareIt) {
  SharedBuffer buffer = SharedBuffer::Create(100);
  SharedBuffer copy = buffer;  // shares the state, before and after Seal()
  std::memset(buffer.mutable_data().data(), 'a', 100);
  copy.Seal();
  EXPECT_TRUE(buffer.sealed());
  EXPECT_EQ(buffer.data().data(), copy.data().data());
  EXPECT_THAT([&] { buffer.mutable_data(); },
              ThrowsMessage<InvalidStateError>(HasSubstr("sealed buffer is immutable")));
  const char* address = buffer.data().data();
  buffer.Seal();  // again: nothing changes
  EXPECT_EQ(buffer.data().data(), address);
  EXPECT_EQ(buffer.view(), std::string(100, 'a'));
  SharedBuffer moved = std::move(copy);
  EXPECT_EQ(moved.data().data(), address);
}

TEST(SharedBufferTest, SealedMemoryIsMappedReadOnly) {
  SharedBuffer buffer = SharedBuffer::Create(1 << 16);
  EXPECT_EQ(Permissions(buffer.mutable_data().data()), "rw-s");
  buffer.Seal();
  EXPECT_EQ(Permissions(buffer.data().data()), "r--p");
}

TEST(SharedBufferTest, CopyMakesASealedCopy) {
  const std::string text = "zero-copy payloads";
  SharedBuffer buffer = SharedBuffer::Copy(text);
  EXPECT_TRUE(buffer.sealed());
  EXPECT_EQ(buffer.view(), text);
  EXPECT_NE(buffer.data().data(), text.data());
  SharedBuffer empty = SharedBuffer::Copy(std::string());
  EXPECT_TRUE(empty.sealed());
  EXPECT_TRUE(empty.empty());
}

TEST(SharedBufferTest, SizeZeroWorks) {
  SharedBuffer buffer = SharedBuffer::Create(0);
  EXPECT_FALSE(buffer.sealed());
  EXPECT_TRUE(buffer.mutable_data().empty());
  EXPECT_THROW(Encode(buffer), SerializationError);
  buffer.Seal();
  EXPECT_TRUE(buffer.sealed());
  Attachments attachments;
  ByteBuffer bytes;
  EncodeWithAttachments(&bytes, &attachments, buffer);
  EXPECT_TRUE(attachments.empty());
  absl::StatusOr<SharedBuffer> back = Decode<SharedBuffer>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->empty());
  EXPECT_TRUE(back->sealed());
}

TEST(SharedBufferTest, BuffersCloseTheirDescriptorWhenTheLastHandleGoes) {
  const int before = OpenBufferDescriptors();
  {
    SharedBuffer buffer = Filled(4096, 1);
    SharedBuffer copy = buffer;
    EXPECT_EQ(OpenBufferDescriptors(), before + 1);
  }
  EXPECT_EQ(OpenBufferDescriptors(), before);
}

// --- Errors making a buffer. ---

// The descriptors of this process that are SharedBuffer memfds.
std::set<int> BufferDescriptors() {
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (!error && target.find("memfd:cf::SharedBuffer") != std::string::npos) {
      fds.insert(std::stoi(entry.path().filename().string()));
    }
  }
  return fds;
}

TEST(SharedBufferTest, AFailedSealLeavesTheBufferWritable) {
  const std::set<int> before = BufferDescriptors();
  SharedBuffer buffer = SharedBuffer::Create(4096);
  std::set<int> after = BufferDescriptors();
  for (int fd : before) after.erase(fd);
  ASSERT_EQ(after.size(), 1u);
  // Someone else maps the memfd writable (as another process could through /proc): no
  // F_SEAL_WRITE while that mapping exists.
  const int other = open(absl::StrCat("/proc/self/fd/", *after.begin()).c_str(), O_RDWR);
  ASSERT_GE(other, 0);
  void* mapping = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, other, 0);
  ASSERT_NE(mapping, MAP_FAILED);
  std::memset(buffer.mutable_data().data(), 'w', 4096);
  EXPECT_THAT([&] { buffer.Seal(); }, ThrowsMessage<SharedBufferError>(
                                          AllOf(HasSubstr("F_ADD_SEALS"), HasSubstr("EBUSY"))));
  EXPECT_FALSE(buffer.sealed());
  EXPECT_EQ(buffer.view(), std::string(4096, 'w'));
  buffer.mutable_data()[0] = 'x';  // still writable
  EXPECT_EQ(Permissions(buffer.mutable_data().data()), "rw-s");
  munmap(mapping, 4096);
  close(other);
  buffer.Seal();
  EXPECT_TRUE(buffer.sealed());
  EXPECT_EQ(buffer.view(), "x" + std::string(4095, 'w'));
}

// A fork() while a buffer is being filled (a kFork pool starting a worker, on its manager
// thread) must not leave a writable mapping of it in the child, which would make Seal() fail
// with EBUSY for as long as the child lives.
TEST(SharedBufferTest, AForkChildDoesNotKeepTheBufferFromBeingSealed) {
  SharedBuffer buffer = SharedBuffer::Create(1 << 20);
  std::memset(buffer.mutable_data().data(), 'f', 1 << 20);
  int gate[2];
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(gate[1]);
    char byte;
    (void)!read(gate[0], &byte, 1);  // lives until the parent closes the pipe
    _exit(0);
  }
  close(gate[0]);
  EXPECT_NO_THROW(buffer.Seal());
  EXPECT_TRUE(buffer.sealed());
  EXPECT_EQ(buffer.view(), std::string(1 << 20, 'f'));
  close(gate[1]);
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
}

TEST(SharedBufferTest, ImpossibleSizesThrowSharedBufferError) {
  for (std::size_t size : {SIZE_MAX, std::size_t{1} << 62}) {
    EXPECT_THAT(
        [size] { SharedBuffer::Create(size); },
        ThrowsMessage<SharedBufferError>(AllOf(HasSubstr("larger than this machine's memory"),
                                               HasSubstr("use a smaller buffer"))));
  }
}

TEST(SharedBufferTest, NoDescriptorLeftThrowsSharedBufferErrorSayingWhatToDo) {
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  // The lowest free descriptor becomes the limit: memfd_create finds none.
  const int probe = dup(0);
  ASSERT_GE(probe, 0);
  close(probe);
  rlimit low = old_limit;
  low.rlim_cur = static_cast<rlim_t>(probe);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::string message = "no exception";
  try {
    SharedBuffer::Create(4096);
  } catch (const SharedBufferError& e) {
    message = e.what();
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  EXPECT_THAT(message,
              AllOf(HasSubstr("memfd_create"), HasSubstr("EMFILE"), HasSubstr("RLIMIT_NOFILE")));
}

// --- Encoding: a reference plus an attachment. ---

TEST(SharedBufferTest, EncodingIsAReferenceAndDecodingHereSharesTheMapping) {
  SharedBuffer buffer = Filled(1 << 20, 3);
  ByteBuffer bytes;
  Attachments attachments;
  EncodeWithAttachments(&bytes, &attachments, buffer);
  EXPECT_EQ(bytes.size(), 36u);  // tag, size, pid, fd, st_dev, st_ino: never the bytes
  ASSERT_EQ(attachments.size(), 1u);
  absl::StatusOr<SharedBuffer> back = Decode<SharedBuffer>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->sealed());
  EXPECT_EQ(back->data().data(), buffer.data().data());
  EXPECT_EQ(back->size(), buffer.size());
}

TEST(SharedBufferTest, PlainEncodeCollectsNothingAndTheCallerKeepsTheBuffer) {
  SharedBuffer buffer = Filled(5000, 4);
  const ByteBuffer bytes = Encode(buffer);
  absl::StatusOr<SharedBuffer> back = Decode<SharedBuffer>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->view(), buffer.view());
}

TEST(SharedBufferTest, DecodingAFileNoHandleListsMapsItThroughProc) {
  const int fd = HandMadeMemfd(3000, 'q', /*seal=*/true);
  ASSERT_GE(fd, 0);
  const FileId id = IdOf(fd);
  absl::StatusOr<SharedBuffer> first =
      Decode<SharedBuffer>(Forge(3000, getpid(), fd, id.dev, id.ino));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->view(), std::string(3000, 'q'));
  EXPECT_EQ(Permissions(first->data().data()), "r--p");
  // Listed now: a second decode shares the first one's mapping.
  absl::StatusOr<SharedBuffer> second =
      Decode<SharedBuffer>(Forge(3000, getpid(), fd, id.dev, id.ino));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->data().data(), first->data().data());
  close(fd);
}

TEST(SharedBufferTest, ConcurrentDecodesShareOneMapping) {
  const int fd = HandMadeMemfd(8192, 'c', /*seal=*/true);
  ASSERT_GE(fd, 0);
  const FileId id = IdOf(fd);
  const ByteBuffer bytes = Forge(8192, getpid(), fd, id.dev, id.ino);
  constexpr int kThreads = 4;
  std::vector<SharedBuffer> decoded(kThreads);
  absl::Notification go;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.WaitForNotification();
      for (int i = 0; i < 50; ++i) {
        absl::StatusOr<SharedBuffer> back = Decode<SharedBuffer>(bytes);
        if (back.ok()) decoded[t] = *back;
      }
    });
  }
  go.Notify();
  for (std::thread& t : threads) t.join();
  for (const SharedBuffer& buffer : decoded) {
    EXPECT_EQ(buffer.view(), std::string(8192, 'c'));
    EXPECT_EQ(buffer.data().data(), decoded[0].data().data());
  }
  close(fd);
}

TEST(SharedBufferTest, AnUnsealedBufferIsRefusedWhenEncoded) {
  SharedBuffer buffer = SharedBuffer::Create(64);
  EXPECT_THAT(
      [&] { TaskCall call(&BufferChecksum, buffer); },
      ThrowsMessage<SerializationError>(AllOf(HasSubstr("not sealed"), HasSubstr("call Seal()"))));
  EXPECT_THROW(Encode(buffer), SerializationError);
}

// --- Attachments of a TaskCall, a TaskBatch and a TaskOutcome. ---

TEST(SharedBufferTest, TaskCallKeepsItsArgumentAliveAfterTheCallerDropsIt) {
  const int before = OpenBufferDescriptors();
  std::uint64_t expected = 0;
  std::optional<TaskCall> call;
  {
    SharedBuffer buffer = Filled(1 << 16, 5);
    expected = Checksum(buffer.data());
    call.emplace(&BufferChecksum, buffer);
  }  // the caller's handle is gone
  EXPECT_EQ(call->attachments().size(), 1u);
  EXPECT_EQ(OpenBufferDescriptors(), before + 1);
  TaskOutcome outcome = RunTaskCall(call->payload());
  ASSERT_EQ(outcome.kind, FrameKind::kResult);
  EXPECT_TRUE(outcome.attachments.empty());
  absl::StatusOr<std::uint64_t> sum = DecodeResult<std::uint64_t>(outcome.payload);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, expected);
  call.reset();
  EXPECT_EQ(OpenBufferDescriptors(), before);
}

TEST(SharedBufferTest, EchoedBufferComesBackAsTheCallersMapping) {
  SharedBuffer buffer = Filled(4096, 6);
  TaskCall call(&EchoBuffer, buffer);
  TaskOutcome outcome = RunTaskCall(call.payload());
  ASSERT_EQ(outcome.kind, FrameKind::kResult);
  EXPECT_EQ(outcome.attachments.size(), 1u);  // the result's reference, kept by its sender
  absl::StatusOr<SharedBuffer> back = DecodeResult<SharedBuffer>(outcome.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data().data(), buffer.data().data());
}

TEST(SharedBufferTest, ABufferMadeByATaskLivesInTheOutcomesAttachments) {
  TaskCall call(&MakeBuffer, std::string("made in the task"));
  TaskOutcome outcome;
  RunTaskCall(call.payload(), &outcome);
  ASSERT_EQ(outcome.kind, FrameKind::kResult);
  ASSERT_EQ(outcome.attachments.size(), 1u);
  absl::StatusOr<SharedBuffer> back = DecodeResult<SharedBuffer>(outcome.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->view(), "made in the task");
  // The next call releases them; so does a call that fails.
  RunTaskCall(TaskCall(&ThrowWithBuffer, Filled(10, 1)).payload(), &outcome);
  EXPECT_EQ(outcome.kind, FrameKind::kException);
  EXPECT_TRUE(outcome.attachments.empty());
}

TEST(SharedBufferTest, BatchCollectsEachBufferOnceAndRollsBackAFailedAdd) {
  SharedBuffer a = Filled(1000, 7);
  SharedBuffer b = Filled(2000, 8);
  TaskBatch batch(&BufferChecksum);
  batch.Add(a);
  batch.Add(a);  // a Map passing one buffer to every call keeps one reference
  batch.Add(b);
  SharedBuffer unsealed = SharedBuffer::Create(10);
  EXPECT_THROW(batch.Add(unsealed), SerializationError);
  EXPECT_EQ(batch.size(), 3u);
  TaskCall call = std::move(batch).Finish();
  EXPECT_EQ(call.attachments().size(), 2u);
  TaskOutcome outcome = RunTaskCall(call.payload());
  absl::StatusOr<std::vector<std::uint64_t>> sums =
      DecodeResults<std::uint64_t>(outcome.payload, 3);
  ASSERT_TRUE(sums.ok()) << sums.status();
  EXPECT_EQ(*sums, (std::vector<std::uint64_t>{Checksum(a.data()), Checksum(a.data()),
                                               Checksum(b.data())}));
}

// --- Forged and stale references: clear errors, never a crash or a hang. ---

TEST(SharedBufferTest, ForgedReferencesFailWithTheirCause) {
  SharedBuffer buffer = Filled(4096, 9);
  ByteBuffer real = Encode(buffer);
  std::int32_t fd = 0;
  std::memcpy(&fd, real.data() + 16, sizeof(fd));
  const FileId id = IdOf(fd);
  ASSERT_NE(id.ino, 0u);
  const pid_t self = getpid();

  EXPECT_THAT(DecodeError(Forge(4096, self, fd, id.dev, id.ino, /*tag=*/7)),
              HasSubstr("not an encoded cf::SharedBuffer"));
  EXPECT_THAT(DecodeError(Forge(4096, 0, fd, id.dev, id.ino)), HasSubstr("malformed payload"));
  EXPECT_THAT(DecodeError(Forge(4096, self, -1, id.dev, id.ino)), HasSubstr("malformed payload"));
  ByteBuffer truncated(absl::MakeConstSpan(real.data(), 20));
  EXPECT_THAT(DecodeError(truncated), HasSubstr("ends early"));
  // Listed here, but of another size.
  EXPECT_THAT(DecodeError(Forge(8192, self, fd, id.dev, id.ino)), HasSubstr("announces 8192"));
  // Another inode behind that descriptor.
  EXPECT_THAT(DecodeError(Forge(4096, self, fd, id.dev, id.ino + 1000000)),
              HasSubstr("is another file"));
  // A process that does not exist (above any pid_max).
  EXPECT_THAT(DecodeError(Forge(4096, 0x7ffffff0, fd, id.dev, id.ino + 1000000)),
              HasSubstr("has exited"));
  // A descriptor that is closed.
  const int closed = dup(0);
  close(closed);
  EXPECT_THAT(DecodeError(Forge(4096, self, closed, id.dev, id.ino + 1000000)),
              HasSubstr("released the buffer (or is exiting) before it was decoded"));
  // A pipe whose write end is closed: opening it would block; it is never opened.
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  close(pipe_fds[1]);
  EXPECT_THAT(DecodeError(Forge(4096, self, pipe_fds[0], id.dev, id.ino + 1000000)),
              HasSubstr("is another file"));
  close(pipe_fds[0]);
}

TEST(SharedBufferTest, UnsealedOrResizedFilesAreRefused) {
  const int unsealed = HandMadeMemfd(100, 'u', /*seal=*/false);
  ASSERT_GE(unsealed, 0);
  FileId id = IdOf(unsealed);
  EXPECT_THAT(DecodeError(Forge(100, getpid(), unsealed, id.dev, id.ino)),
              HasSubstr("not sealed against writing"));
  close(unsealed);
  const int sealed = HandMadeMemfd(100, 's', /*seal=*/true);
  ASSERT_GE(sealed, 0);
  id = IdOf(sealed);
  EXPECT_THAT(DecodeError(Forge(200, getpid(), sealed, id.dev, id.ino)),
              HasSubstr("the file has 100 bytes, the payload announces 200"));
  close(sealed);
}

// A task whose argument does not decode fails as a call, with the cause.
TEST(SharedBufferTest, AnUndecodableArgumentBecomesTheCallsException) {
  TaskCall call(&BufferChecksum, Filled(64, 1));
  ByteBuffer payload(call.payload());
  // The argument's pid is 24 bytes before the end (then fd, st_dev, st_ino): a dead process.
  const std::int32_t dead = 0x7ffffff0;
  std::memcpy(payload.data() + payload.size() - 24, &dead, sizeof(dead));
  // Another inode, so that this process's registry does not answer.
  payload.data()[payload.size() - 1] ^= 0x40;
  TaskOutcome outcome = RunTaskCall(payload);
  ASSERT_EQ(outcome.kind, FrameKind::kException);
  absl::StatusOr<std::exception_ptr> error = DecodeException(outcome.payload);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_THAT([&] { std::rethrow_exception(*error); },
              ThrowsMessage<SerializationError>(HasSubstr("has exited")));
}

// --- fork(). ---

// The child of a fork() made while another thread holds this process's registry lock (a kFork
// worker) decodes a call whose buffer the parent holds only through the TaskCall, runs it, and
// encodes the buffer back, taking no lock it inherited.
TEST(SharedBufferTest, ForkedChildDecodesWithoutTheParentsRegistryLock) {
  std::optional<TaskCall> checksum_call;
  std::optional<TaskCall> echo_call;
  std::uint64_t expected = 0;
  {
    SharedBuffer buffer = Filled(1 << 20, 11);
    expected = Checksum(buffer.data());
    checksum_call.emplace(&BufferChecksum, buffer);
    echo_call.emplace(&EchoBuffer, buffer);
  }
  LockHolder holder(internal::SharedBufferRegistry::Get().MutexForTesting());
  ASSERT_TRUE(holder.WaitUntilHeld());
  const std::string how = RunInForkedChild([&] {
    TaskOutcome outcome = RunTaskCall(checksum_call->payload());
    if (outcome.kind != FrameKind::kResult) return ChildCheck(false, 1);
    absl::StatusOr<std::uint64_t> sum = DecodeResult<std::uint64_t>(outcome.payload);
    if (!sum.ok() || *sum != expected) return ChildCheck(false, 2);
    outcome = RunTaskCall(echo_call->payload());
    if (outcome.kind != FrameKind::kResult || outcome.attachments.size() != 1) {
      return ChildCheck(false, 3);
    }
    absl::StatusOr<SharedBuffer> echo = DecodeResult<SharedBuffer>(outcome.payload);
    return ChildCheck(echo.ok() && Checksum(echo->data()) == expected, 4);
  });
  EXPECT_EQ(how, kExitedCleanly);
}

TEST(SharedBufferTest, AHandleInheritedThroughForkNeedsItsDescriptor) {
  SharedBuffer buffer = Filled(4096, 12);
  ByteBuffer real = Encode(buffer);
  std::int32_t fd = 0;
  std::memcpy(&fd, real.data() + 16, sizeof(fd));
  const std::string how = RunInForkedChild([&] {
    ByteBuffer bytes = Encode(buffer);  // the inherited descriptor is open: fine
    std::int32_t pid = 0;
    std::memcpy(&pid, bytes.data() + 12, sizeof(pid));
    if (pid != getpid()) return ChildCheck(false, 1);
    close(fd);  // as a kFork worker does
    try {
      Encode(buffer);
    } catch (const SerializationError& e) {
      return ChildCheck(std::string(e.what()).find("inherited through fork()") != std::string::npos,
                        2);
    }
    return ChildCheck(false, 3);
  });
  EXPECT_EQ(how, "exited with code 0");
}

}  // namespace
}  // namespace cf::testing
