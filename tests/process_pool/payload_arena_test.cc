// PayloadArena and the worker's ResultArenaAllocator: a result buffer stays on the heap while it
// fits a ring record, moves into the arena (bytes kept) once it outgrows it, keeps growing there
// (the memfd remapped, bytes kept), and the pool's side of the memfd sees what was written; Trim
// gives back a giant's pages.
#include "cf/process_pool/internal/payload_arena.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"
#include "gtest/gtest.h"

namespace cf::internal {
namespace {

constexpr std::size_t kHeapLimit = 256 << 10;

std::string Pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

// The reader's view of the writer's arena, as the pool has it: the same memfd, another mapping.
PayloadArena ReaderOf(const PayloadArena& writer) {
  const int fd = fcntl(writer.fd(), F_DUPFD_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  return PayloadArena(UniqueFd(fd));
}

TEST(ResultArenaAllocatorTest, SmallStaysOnTheHeapBigMovesIntoTheArena) {
  absl::StatusOr<PayloadArena> arena = PayloadArena::Create();
  ASSERT_TRUE(arena.ok()) << arena.status();
  ResultArenaAllocator allocator(&*arena, kHeapLimit);
  ByteBuffer buffer(&allocator);
  const std::string bytes = Pattern(5 << 20);
  std::size_t written = 0;
  for (; written < kHeapLimit / 2; written += 1000) buffer.Append(bytes.data() + written, 1000);
  EXPECT_FALSE(allocator.Holds(buffer.data()));
  EXPECT_EQ(arena->mapped(), 0u);  // a small result costs the arena nothing
  for (; written + 1000 <= bytes.size(); written += 1000) {
    buffer.Append(bytes.data() + written, 1000);
  }
  EXPECT_TRUE(allocator.Holds(buffer.data()));
  EXPECT_EQ(buffer.data(), arena->base());
  EXPECT_EQ(buffer.view(), absl::string_view(bytes.data(), written));

  PayloadArena reader = ReaderOf(*arena);
  absl::StatusOr<absl::Span<const char>> seen = reader.Read(buffer.size());
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(absl::string_view(seen->data(), seen->size()), buffer.view());

  // Letting go of the bytes leaves them to the arena; the next buffer starts on the heap.
  buffer.ReleaseMemory();
  EXPECT_FALSE(allocator.Holds(arena->base()));
  ByteBuffer next(&allocator);
  next.Append("small", 5);
  EXPECT_FALSE(allocator.Holds(next.data()));
}

TEST(ResultArenaAllocatorTest, OneBigAppendGoesStraightIntoTheArena) {
  absl::StatusOr<PayloadArena> arena = PayloadArena::Create();
  ASSERT_TRUE(arena.ok()) << arena.status();
  ResultArenaAllocator allocator(&*arena, kHeapLimit);
  ByteBuffer buffer(&allocator);
  buffer.Append("head", 4);
  const std::string body = Pattern(3 << 20);
  buffer.Append(body);
  EXPECT_TRUE(allocator.Holds(buffer.data()));
  EXPECT_EQ(buffer.view(), "head" + body);
  // Reused (clear keeps the capacity): the next result is written in place.
  buffer.clear();
  buffer.Append(body.data(), 1 << 20);
  EXPECT_EQ(buffer.data(), arena->base());
  EXPECT_EQ(buffer.view(), absl::string_view(body.data(), 1 << 20));
}

TEST(PayloadArenaTest, ReserveKeepsTheBytesAndTrimGivesBackAGiant) {
  absl::StatusOr<PayloadArena> arena = PayloadArena::Create();
  ASSERT_TRUE(arena.ok()) << arena.status();
  absl::StatusOr<char*> room = arena->Reserve(1 << 20);
  ASSERT_TRUE(room.ok()) << room.status();
  const std::string bytes = Pattern(1 << 20);
  std::memcpy(*room, bytes.data(), bytes.size());
  room = arena->Reserve(PayloadArena::kKeepBytes + (1 << 20));
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(absl::string_view(*room, bytes.size()), bytes);
  EXPECT_GT(arena->mapped(), PayloadArena::kKeepBytes);
  EXPECT_EQ(lseek(arena->fd(), 0, SEEK_END), static_cast<off_t>(arena->mapped()));
  arena->Trim();
  EXPECT_EQ(arena->base(), nullptr);
  EXPECT_EQ(lseek(arena->fd(), 0, SEEK_END), static_cast<off_t>(PayloadArena::kKeepBytes));
  room = arena->Reserve(1 << 20);  // maps what is left
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(absl::string_view(*room, bytes.size()), bytes);
}

ino_t InodeOf(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// Recycled arenas come back with their pages (a giant's trimmed to kKeepBytes); empty ones and
// any beyond kRecycled are closed; a fork() child never gets its parent's.
TEST(PayloadArenaTest, ArenasOfEndedWorkersServeLaterOnes) {
  // Whatever earlier tests left is taken first.
  for (int i = 0; i < PayloadArena::kRecycled; ++i) ASSERT_TRUE(PayloadArena::Create().ok());
  std::vector<PayloadArena> arenas;
  std::vector<ino_t> kept;
  for (int i = 0; i < PayloadArena::kRecycled + 1; ++i) {
    absl::StatusOr<PayloadArena> arena = PayloadArena::Create();
    ASSERT_TRUE(arena.ok()) << arena.status();
    ASSERT_TRUE(arena->Reserve(i == 0 ? PayloadArena::kKeepBytes + (3 << 20) : 2 << 20).ok());
    kept.push_back(InodeOf(arena->fd()));
    arenas.push_back(*std::move(arena));
  }
  absl::StatusOr<PayloadArena> empty = PayloadArena::Create();
  ASSERT_TRUE(empty.ok());
  PayloadArena::Recycle(*std::move(empty));  // nothing in it: not kept
  for (PayloadArena& arena : arenas) PayloadArena::Recycle(std::move(arena));
  std::vector<ino_t> back;
  for (int i = 0; i < PayloadArena::kRecycled; ++i) {
    absl::StatusOr<PayloadArena> arena = PayloadArena::Create();
    ASSERT_TRUE(arena.ok());
    back.push_back(InodeOf(arena->fd()));
    const off_t size = lseek(arena->fd(), 0, SEEK_END);
    EXPECT_LE(size, static_cast<off_t>(PayloadArena::kKeepBytes));
    EXPECT_GE(size, off_t{2} << 20);
    absl::StatusOr<absl::Span<const char>> bytes = arena->Read(2 << 20);  // its pages are there
    EXPECT_TRUE(bytes.ok()) << bytes.status();
  }
  std::sort(back.begin(), back.end());
  std::vector<ino_t> first_two(kept.begin(), kept.begin() + PayloadArena::kRecycled);
  std::sort(first_two.begin(), first_two.end());
  EXPECT_EQ(back, first_two);  // the third was closed: no room for it
  absl::StatusOr<PayloadArena> fresh = PayloadArena::Create();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(lseek(fresh->fd(), 0, SEEK_END), 0);

  // In a fork() child: the parent's recycled arena is not taken.
  ASSERT_TRUE(fresh->Reserve(1 << 20).ok());
  const ino_t parents = InodeOf(fresh->fd());
  PayloadArena::Recycle(*std::move(fresh));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<PayloadArena> mine = PayloadArena::Create();
    _exit(mine.ok() && InodeOf(mine->fd()) != parents ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  absl::StatusOr<PayloadArena> again = PayloadArena::Create();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(InodeOf(again->fd()), parents);
}

}  // namespace
}  // namespace cf::internal
