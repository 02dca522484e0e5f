// The warm block big TaskCall payloads are encoded into (serialization/internal/
// payload_allocator.h): a second big call after the first reuses its memory, small calls never
// touch it, and a fork() child — which does not inherit the kept block — can still encode big
// calls and read the ones alive in its parent at fork() time.
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

}  // namespace cf::testing

CF_TASK(cf::testing::Length);

namespace cf::testing {
namespace {

constexpr std::size_t kBig = std::size_t{4} << 20;

// The encoded argument: the payload ends with the string's bytes.
bool EndsWith(const TaskCall& call, const std::string& s) {
  const absl::Span<const char> payload = call.payload();
  return payload.size() >= s.size() &&
         std::string(payload.end() - s.size(), payload.end()) == s;
}

TEST(WarmBlockTest, ASecondBigCallReusesTheFirstOnesMemory) {
  const void* first = nullptr;
  {
    TaskCall call(&Length, std::string(kBig, 'a'));
    first = call.payload().data();
    EXPECT_TRUE(EndsWith(call, std::string(kBig, 'a')));
  }
  TaskCall second(&Length, std::string(kBig / 2, 'b'));
  EXPECT_EQ(second.payload().data(), first);
  EXPECT_TRUE(EndsWith(second, std::string(kBig / 2, 'b')));
  // While it is in use, another big call gets memory of its own.
  TaskCall third(&Length, std::string(kBig, 'c'));
  EXPECT_NE(third.payload().data(), first);
  EXPECT_TRUE(EndsWith(third, std::string(kBig, 'c')));
  EXPECT_TRUE(EndsWith(second, std::string(kBig / 2, 'b')));
  // Small calls stay on the heap.
  TaskCall small(&Length, std::string(100, 'd'));
  EXPECT_LE(small.payload().size(), internal::CallPayloadAllocator::kSmallBytes);
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

TEST(WarmBlockTest, AForkChildEncodesBigCallsAndReadsItsParents) {
  { TaskCall kept(&Length, std::string(kBig, 'e')); }  // now the kept block: not inherited
  TaskCall alive(&Length, std::string(kBig, 'f'));    // in use: inherited (it is the kept block)
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = EndsWith(alive, std::string(kBig, 'f')) ? 0 : 1;
    for (int i = 0; i < 3 && code == 0; ++i) {
      TaskCall call(&Length, std::string(kBig, static_cast<char>('g' + i)));
      if (!EndsWith(call, std::string(kBig, static_cast<char>('g' + i)))) code = 2;
    }
    _exit(code);
  }
  EXPECT_EQ(AwaitChild(pid), 0);
}

TEST(WarmBlockTest, AForkChildDoesNotInheritTheKeptBlock) {
  { TaskCall kept(&Length, std::string(kBig, 'h')); }  // the kept block now
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The first big call in the child must not be handed the parent's kept block (it is not
    // mapped here): it would crash.
    TaskCall call(&Length, std::string(kBig, 'i'));
    _exit(EndsWith(call, std::string(kBig, 'i')) ? 0 : 1);
  }
  EXPECT_EQ(AwaitChild(pid), 0);
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
