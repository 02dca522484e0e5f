// PayloadArena and the worker's ResultArenaAllocator: a result buffer stays on the heap while it
// fits a ring record, moves into the arena (bytes kept) once it outgrows it, keeps growing there
// (the memfd remapped, bytes kept), and the pool's side of the memfd sees what was written; Trim
// gives back a giant's pages.
#include "cf/process_pool/internal/payload_arena.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/unique_fd.h"
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

// An arena that cannot grow (here: sealed against it): the result goes (back) to the heap, whole,
// and the worker then reports it through its usual path instead of failing the encode.
TEST(ResultArenaAllocatorTest, AnArenaThatCannotGrowLeavesTheResultOnTheHeap) {
  const int fd = memfd_create("sealed-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 1 << 20), 0);  // 1 MiB, and no more
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
  PayloadArena arena{UniqueFd(fd)};
  ResultArenaAllocator allocator(&arena, kHeapLimit);
  ByteBuffer buffer(&allocator);
  const std::string bytes = Pattern(3 << 20);
  for (std::size_t i = 0; i < bytes.size(); i += 4096) buffer.Append(bytes.data() + i, 4096);
  EXPECT_FALSE(allocator.Holds(buffer.data()));
  EXPECT_EQ(buffer.view(), bytes);
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

}  // namespace
}  // namespace cf::internal
