// cf::SharedBuffer through real process pools, for every start method: a worker reads the
// caller's pages (no copy), cannot write them, and the call survives the caller dropping its
// handle; echoes, buffers made by a task, and Map. Every wait is bounded.
#include "cf/serialization/shared_buffer.h"

#include <signal.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process_pool/process_pool_traits.h"
#include "tests/process_pool/socket_gate.h"

namespace cf::testing {

// A checksum of every byte, eight at a time.
std::uint64_t Checksum(absl::Span<const char> bytes) {
  std::uint64_t h = 1469598103934665603ull;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * 1099511628211ull;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * 1099511628211ull;
  return h;
}

std::uint64_t BufferChecksum(const SharedBuffer& buffer) { return Checksum(buffer.data()); }
std::uint64_t PrefixChecksum(SharedBuffer buffer, std::int64_t length) {
  return Checksum(buffer.data().subspan(0, static_cast<std::size_t>(length)));
}
std::uint64_t ChecksumAfterGate(std::int64_t gate, SharedBuffer buffer) {
  SocketGate::Pass(gate, 0);
  return Checksum(buffer.data());
}
SharedBuffer EchoBuffer(SharedBuffer buffer) { return buffer; }
SharedBuffer MakeBuffer(std::string text) { return SharedBuffer::Copy(text); }
// Writes through a const_cast into the read-only mapping. The real SIGSEGV kills the worker,
// also under a sanitizer (whose own handler would turn it into a report and exit code 1).
int WriteToBuffer(SharedBuffer buffer) {
  signal(SIGSEGV, SIG_DFL);
  volatile char* byte = const_cast<char*>(buffer.data().data());
  *byte = 1;
  return 0;
}

}  // namespace cf::testing

CF_TASK(cf::testing::BufferChecksum);
CF_TASK(cf::testing::PrefixChecksum);
CF_TASK(cf::testing::ChecksumAfterGate);
CF_TASK(cf::testing::EchoBuffer);
CF_TASK(cf::testing::MakeBuffer);
CF_TASK(cf::testing::WriteToBuffer);

namespace cf::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kBound = absl::Seconds(60);

SharedBuffer Filled(std::size_t size, std::uint64_t seed) {
  SharedBuffer buffer = SharedBuffer::Create(size);
  absl::Span<char> bytes = buffer.mutable_data();
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(bytes.data() + i, &x, 8);
  }
  buffer.Seal();
  return buffer;
}

class SharedBufferPoolTest : public ::testing::TestWithParam<StartMethod> {
 protected:
  std::unique_ptr<ProcessPoolExecutor> Make(int workers) {
    return MakeProcessPool(GetParam(), workers);
  }
};

std::string Name(const ::testing::TestParamInfo<StartMethod>& info) {
  return MethodName(info.param);
}

#if !CF_TEST_KFORK
// kFork is left out under ASan and TSan: see CF_TEST_KFORK in process_pool_traits.h.
INSTANTIATE_TEST_SUITE_P(StartMethods, SharedBufferPoolTest,
                         ::testing::Values(StartMethod::kSpawn, StartMethod::kForkServer), Name);
#else
INSTANTIATE_TEST_SUITE_P(StartMethods, SharedBufferPoolTest,
                         ::testing::Values(StartMethod::kFork, StartMethod::kSpawn,
                                           StartMethod::kForkServer),
                         Name);
#endif

template <typename T>
std::string BrokenMessage(const Future<T>& f) {
  std::exception_ptr e = f.Exception(kBound);
  if (e == nullptr) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const BrokenProcessPool& broken) {
    return broken.what();
  } catch (const std::exception& other) {
    return std::string("not BrokenProcessPool: ") + other.what();
  }
}

TEST_P(SharedBufferPoolTest, WorkerReadsA64MBBufferWithoutACopy) {
  // Payloads over 4 KiB are refused: the 64 MB cannot be travelling through the pipe.
  ProcessPoolExecutor pool(
      {.max_workers = 2, .start_method = GetParam(), .max_payload_size = 4096});
  SharedBuffer buffer = Filled(64 << 20, 1);
  const std::uint64_t local = Checksum(buffer.data());
  Future<std::uint64_t> f = pool.Submit(&BufferChecksum, buffer);
  EXPECT_EQ(f.Result(kBound), local);
  EXPECT_EQ(pool.Submit(&EchoBuffer, buffer).Result(kBound).data().data(), buffer.data().data());
}

TEST_P(SharedBufferPoolTest, TheWorkersMappingIsReadOnly) {
  auto pool = Make(1);
  Future<int> f = pool->Submit(&WriteToBuffer, Filled(4096, 2));
  EXPECT_THAT(BrokenMessage(f), HasSubstr("SIGSEGV"));
}

TEST_P(SharedBufferPoolTest, TheCallerMayDropTheBufferRightAfterSubmit) {
  auto pool = Make(1);
  SocketGate gate;
  // The only worker waits at the gate, so the call below is still queued when its caller's
  // handle goes: the pool's copy of the call keeps the buffer.
  Future<int> blocker = pool->Submit(&SocketGate::Pass, gate.id(), 5);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  std::uint64_t local = 0;
  Future<std::uint64_t> f;
  {
    SharedBuffer buffer = Filled(1 << 20, 3);
    local = Checksum(buffer.data());
    f = pool->Submit(&BufferChecksum, buffer);
  }
  gate.Open();
  EXPECT_EQ(blocker.Result(kBound), 5);
  EXPECT_EQ(f.Result(kBound), local);
}

TEST_P(SharedBufferPoolTest, TheCallerMayDropTheBufferWhileTheTaskRuns) {
  auto pool = Make(1);
  SocketGate gate;
  std::uint64_t local = 0;
  Future<std::uint64_t> f;
  {
    SharedBuffer buffer = Filled(1 << 20, 4);
    local = Checksum(buffer.data());
    f = pool->Submit(&ChecksumAfterGate, gate.id(), buffer);
  }
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));  // decoded and mapped by now
  gate.Open();
  EXPECT_EQ(f.Result(kBound), local);
}

TEST_P(SharedBufferPoolTest, AnEchoReturnsTheSameBytesInTheCallersMapping) {
  auto pool = Make(2);
  SharedBuffer buffer = Filled(1 << 20, 5);
  SharedBuffer echo = pool->Submit(&EchoBuffer, buffer).Result(kBound);
  EXPECT_TRUE(echo.sealed());
  ASSERT_EQ(echo.size(), buffer.size());
  EXPECT_EQ(echo.view(), buffer.view());
  EXPECT_EQ(echo.data().data(), buffer.data().data()) << "the echo was mapped again";
}

TEST_P(SharedBufferPoolTest, AnEchoOfADroppedBufferStillArrives) {
  auto pool = Make(2);
  std::uint64_t local = 0;
  Future<SharedBuffer> f;
  {
    SharedBuffer buffer = Filled(1 << 20, 6);
    local = Checksum(buffer.data());
    f = pool->Submit(&EchoBuffer, buffer);
  }
  EXPECT_EQ(Checksum(f.Result(kBound).data()), local);
}

// The worker loop keeps a result's attachments until the pool has decoded it (task.h).
TEST_P(SharedBufferPoolTest, ABufferMadeByATaskArrives) {
  auto pool = Make(1);
  for (int i = 0; i < 3; ++i) {
    const std::string text = "made by a task, call " + std::to_string(i);
    EXPECT_EQ(pool->Submit(&MakeBuffer, text).Result(kBound).view(), text);
  }
}

// Many calls in flight: the worker runs the next ones before the pool has decoded the earlier
// results, and keeps each buffer it made until the pool has.
TEST_P(SharedBufferPoolTest, BuffersMadeByPipelinedCallsAllArrive) {
  auto pool = Make(1);
  std::vector<Future<SharedBuffer>> futures;
  for (int i = 0; i < 200; ++i) {
    futures.push_back(pool->Submit(&MakeBuffer, "call " + std::to_string(i)));
  }
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(futures[i].Result(kBound).view(), "call " + std::to_string(i));
  }
  // And when the worker retires right after making one.
  pool.reset();
  auto short_lived = MakeProcessPool(GetParam(), 1, /*max_tasks_per_child=*/1);
  EXPECT_EQ(short_lived->Submit(&MakeBuffer, std::string("last")).Result(kBound).view(), "last");
}

TEST_P(SharedBufferPoolTest, MapPassesBuffers) {
  auto pool = Make(2);
  std::vector<SharedBuffer> buffers;
  std::vector<std::uint64_t> expected;
  for (int i = 0; i < 7; ++i) {
    buffers.push_back(Filled(static_cast<std::size_t>(1 + i) << 16, 10 + i));
    expected.push_back(Checksum(buffers.back().data()));
  }
  for (int chunksize : {1, 3}) {
    std::vector<std::uint64_t> sums;
    for (std::uint64_t sum : pool->Map(&BufferChecksum, buffers,
                                       MapOptions{.timeout = kBound, .chunksize = chunksize})) {
      sums.push_back(sum);
    }
    EXPECT_EQ(sums, expected) << "chunksize " << chunksize;
  }
  // One buffer zipped with many lengths: each chunk refers to it, none copies it.
  const SharedBuffer& big = buffers.back();
  std::vector<SharedBuffer> same(20, big);
  std::vector<std::int64_t> lengths;
  std::vector<std::uint64_t> prefixes;
  for (int i = 0; i < 20; ++i) {
    lengths.push_back(i * 1000);
    prefixes.push_back(Checksum(big.data().subspan(0, static_cast<std::size_t>(i) * 1000)));
  }
  std::vector<std::uint64_t> sums;
  for (std::uint64_t sum :
       pool->Map(&PrefixChecksum, same, lengths, MapOptions{.timeout = kBound, .chunksize = 8})) {
    sums.push_back(sum);
  }
  EXPECT_EQ(sums, prefixes);
}

TEST_P(SharedBufferPoolTest, AnUnsealedBufferFailsAtSubmit) {
  auto pool = Make(1);
  SharedBuffer buffer = SharedBuffer::Create(100);
  EXPECT_THROW(pool->Submit(&BufferChecksum, buffer), SerializationError);
  buffer.Seal();
  EXPECT_EQ(pool->Submit(&BufferChecksum, buffer).Result(kBound), Checksum(buffer.data()));
}

}  // namespace
}  // namespace cf::testing
