// The call slots big TaskCall payloads are encoded into (serialization/internal/
// payload_allocator.h): a big call after another reuses its slot, with both slots taken the heap
// serves, small calls never touch them, and a fork() child reads the calls it inherited but
// never takes a slot (they are its parent's memory too); big decodes ask for fresh pages at
// once (PrefaultForWrite).
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "cf/serialization/task.h"
#include "cf/serialization/value.h"
#include "gtest/gtest.h"

namespace cf::testing {

std::size_t Length(std::string s) { return s.size(); }
// Depends on every character and on where it is.
std::uint64_t Checksum(std::vector<std::string> pieces) {
  std::uint64_t sum = 0;
  std::uint64_t position = 0;
  for (const std::string& piece : pieces) {
    for (char c : piece) sum += ++position * static_cast<unsigned char>(c);
  }
  return sum;
}

}  // namespace cf::testing

CF_TASK(cf::testing::Length);
CF_TASK(cf::testing::Checksum);

namespace cf::testing {
namespace {

constexpr std::size_t kBig = std::size_t{4} << 20;

// The encoded argument: the payload ends with the string's bytes.
bool EndsWith(const TaskCall& call, const std::string& s) {
  const absl::Span<const char> payload = call.payload();
  return payload.size() >= s.size() &&
         std::string(payload.end() - s.size(), payload.end()) == s;
}

TEST(CallSlotTest, BigCallsTakeTheTwoSlotsThenTheHeap) {
  internal::CallPayloadAllocator* slots = internal::CallPayloadAllocator::Get();
  ASSERT_EQ(slots->SlotFds().size(), 2u);
  const void* first = nullptr;
  {
    TaskCall call(&Length, std::string(kBig, 'a'));
    first = call.payload().data();
    EXPECT_GE(slots->SlotOf(call.payload().data()), 0);
    EXPECT_TRUE(EndsWith(call, std::string(kBig, 'a')));
  }
  // Given back when the call went: the next big call writes into the same pages.
  TaskCall second(&Length, std::string(kBig / 2, 'b'));
  EXPECT_EQ(second.payload().data(), first);
  TaskCall third(&Length, std::string(kBig, 'c'));
  EXPECT_GE(slots->SlotOf(third.payload().data()), 0);
  EXPECT_NE(slots->SlotOf(third.payload().data()), slots->SlotOf(second.payload().data()));
  // Both slots taken: the heap.
  TaskCall fourth(&Length, std::string(kBig, 'd'));
  EXPECT_EQ(slots->SlotOf(fourth.payload().data()), -1);
  for (const auto& [call, letter] : {std::pair<const TaskCall*, char>{&second, 'b'},
                                     {&third, 'c'}, {&fourth, 'd'}}) {
    EXPECT_TRUE(EndsWith(*call, std::string(call == &second ? kBig / 2 : kBig, letter)));
  }
  // Small calls stay on the heap.
  TaskCall small(&Length, std::string(100, 'e'));
  EXPECT_EQ(slots->SlotOf(small.payload().data()), -1);
}

// A slot lent to a worker stays taken after its call is gone, until the lend ends: then it is
// free for the next big call. Only a slot holding a live payload can be lent, once.
TEST(CallSlotTest, ALentSlotStaysTakenUntilTheLendEnds) {
  internal::CallPayloadAllocator* slots = internal::CallPayloadAllocator::Get();
  int slot = -1;
  {
    TaskCall call(&Length, std::string(kBig, 'a'));
    slot = slots->SlotOf(call.payload().data());
    ASSERT_GE(slot, 0);
    EXPECT_GE(slots->Lend(slot), call.payload().size());  // room: what is mapped of it
    EXPECT_EQ(slots->Lend(slot), 0u);                     // lent already
    EXPECT_TRUE(slots->IsLent(slot));
  }
  EXPECT_TRUE(slots->IsHeld(slot));  // the call is gone, the worker may still write
  {
    TaskCall other(&Length, std::string(kBig, 'b'));
    EXPECT_NE(slots->SlotOf(other.payload().data()), slot);
  }
  slots->EndLend(slot);
  EXPECT_FALSE(slots->IsLent(slot));
  EXPECT_FALSE(slots->IsHeld(slot));
  EXPECT_EQ(slots->Lend(slot), 0u);  // nothing in it to lend
  // A lend that ends while its call lives leaves the slot to the call.
  TaskCall call(&Length, std::string(kBig, 'c'));
  const int again = slots->SlotOf(call.payload().data());
  ASSERT_GE(again, 0);
  EXPECT_GT(slots->Lend(again), 0u);
  slots->EndLend(again);
  EXPECT_TRUE(slots->IsHeld(again));
  EXPECT_TRUE(EndsWith(call, std::string(kBig, 'c')));
}

// An argument encoded piece by piece: its buffer grows on the heap, moves into a slot once it
// outgrows 256 KiB, and keeps growing there (the slot remapped); every piece arrives.
TEST(CallSlotTest, AnArgumentThatGrowsPieceByPieceEndsUpWholeInASlot) {
  std::vector<std::string> pieces;
  for (int i = 0; i < 3000; ++i) pieces.emplace_back(1000 + i % 7, static_cast<char>('a' + i % 26));
  TaskCall call(&Checksum, pieces);
  EXPECT_GE(internal::CallPayloadAllocator::Get()->SlotOf(call.payload().data()), 0);
  // Run where it is, as a worker would after reading it in place.
  const TaskOutcome outcome = RunTaskCall(call.payload());
  ASSERT_EQ(outcome.kind, FrameKind::kResult);
  absl::StatusOr<std::uint64_t> sum = DecodeResult<std::uint64_t>(outcome.payload);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, Checksum(pieces));
}

// Waits (bounded) for the child and returns its exit status, or -1.
int AwaitChild(pid_t pid) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int status = 0;
  while (absl::Now() < deadline) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    absl::SleepFor(absl::Milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// The slots are shared with fork() children: a child that took one would write into its
// parent's payloads. It reads what it inherited and encodes its own big calls on the heap.
TEST(CallSlotTest, AForkChildNeverTakesItsParentsSlots) {
  internal::CallPayloadAllocator* slots = internal::CallPayloadAllocator::Get();
  TaskCall alive(&Length, std::string(kBig, 'f'));  // one slot held, the other free
  ASSERT_GE(slots->SlotOf(alive.payload().data()), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = EndsWith(alive, std::string(kBig, 'f')) ? 0 : 1;
    for (int i = 0; i < 3 && code == 0; ++i) {
      TaskCall call(&Length, std::string(kBig, static_cast<char>('g' + i)));
      if (slots->SlotOf(call.payload().data()) >= 0) code = 2;
      if (!EndsWith(call, std::string(kBig, static_cast<char>('g' + i)))) code = 3;
    }
    _exit(code);
  }
  EXPECT_EQ(AwaitChild(pid), 0);
  EXPECT_TRUE(EndsWith(alive, std::string(kBig, 'f')));
  TaskCall next(&Length, std::string(kBig, 'k'));  // the parent still has the free one
  EXPECT_GE(slots->SlotOf(next.payload().data()), 0);
}

std::size_t ResidentPages(const char* start, std::size_t pages) {
  std::vector<unsigned char> resident(pages);
  if (mincore(const_cast<char*>(start), pages * 4096, resident.data()) != 0) return 0;
  std::size_t count = 0;
  for (unsigned char r : resident) count += r & 1;
  return count;
}

TEST(PrefaultForWriteTest, FreshPagesComeInOneGoAndTheBytesAreUntouched) {
  constexpr std::size_t kPages = 1024;  // 4 MiB
  ASSERT_EQ(sysconf(_SC_PAGESIZE), 4096);
  char* fresh = static_cast<char*>(
      mmap(nullptr, kPages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(fresh, MAP_FAILED);
  EXPECT_EQ(ResidentPages(fresh, kPages), 0u);
  internal::PrefaultForWrite(fresh + 100, kPages * 4096 - 100);  // not page-aligned: fine
  if (ResidentPages(fresh, kPages) == 0) {
    GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14+)";
  }
  // Every page from the first whole one to the last whole one.
  EXPECT_GE(ResidentPages(fresh, kPages), kPages - 2);
  // Written pages keep their bytes; small ranges are left alone.
  fresh[5000] = 'x';
  internal::PrefaultForWrite(fresh, kPages * 4096);
  EXPECT_EQ(fresh[5000], 'x');
  internal::PrefaultForWrite(fresh, 10);
  munmap(fresh, kPages * 4096);
}

// After fork(), pages shared copy-on-write are populated too: each process keeps its own bytes.
TEST(PrefaultForWriteTest, PagesSharedWithAForkChildKeepTheirBytes) {
  std::vector<char> bytes(4 << 20);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 3);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    internal::PrefaultForWrite(bytes.data(), bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] != static_cast<char>(i * 3)) _exit(1);
    }
    bytes[12345] = 'z';  // the child's copy only
    _exit(0);
  }
  internal::PrefaultForWrite(bytes.data(), bytes.size());
  EXPECT_EQ(AwaitChild(pid), 0);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(bytes[i], static_cast<char>(i * 3)) << i;
  }
}

TEST(PrefaultForWriteTest, BigStringsAndByteVectorsDecodeWhole) {
  std::string text(3 << 20, '\0');
  std::vector<std::uint8_t> bytes(5 << 20);
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(i * 7);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 13);
  const ByteBuffer buffer = Encode(std::make_pair(text, bytes));
  absl::StatusOr<std::pair<std::string, std::vector<std::uint8_t>>> decoded =
      Decode<std::pair<std::string, std::vector<std::uint8_t>>>(buffer);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->first == text);
  EXPECT_TRUE(decoded->second == bytes);
}

}  // namespace
}  // namespace cf::testing
