// The warm block big TaskCall payloads are encoded into (serialization/internal/
// payload_allocator.h): a second big call after the first reuses its memory, small calls never
// touch it, and a fork() child — which does not inherit the kept block — can still encode big
// calls and read the ones alive in its parent at fork() time.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "cf/serialization/task.h"
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
  EXPECT_LE(small.payload().size(), internal::WarmBlockAllocator::kSmallBytes);
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

}  // namespace
}  // namespace cf::testing
