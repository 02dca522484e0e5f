// Google Benchmark suite for cf::ProcessPoolExecutor (issue 5), next to the same workloads in
// tools/bench/process_pool_python.py (Python's ProcessPoolExecutor, same start method):
//
//   BM_ProcessPool_SubmitNoop/<method>       no-op Submit throughput, one task per call, 2 workers
//   BM_ProcessPool_MapChunked/<method>       Map(chunksize=1000) over 1M ints, 2 workers
//   BM_ProcessPool_FirstResult/<method>      constructing the pool → the first result
//   BM_ProcessPool_Echo16MB/<method>         echo of a 16 MB std::vector<uint8_t>
//   BM_ProcessPool_Echo16MBFirstCall/<method> the same as a new pool's first call (workers start too)
//   BM_ProcessPool_SharedBufferChecksum16MB/<method>
//                                            a task reads all of a 16 MB cf::SharedBuffer (made
//                                            once) and returns its checksum: nothing is copied
//   BM_ProcessPool_SharedBufferCopyChecksum16MB/<method>
//                                            the same with a fresh SharedBuffer::Copy of 16 MB of
//                                            the caller's bytes each time (new data per call)
//   BM_Checksum16MB                          that checksum in this process (the task's own work)
//   BM_Memcpy16MB                            memcpy between two warm 16 MB buffers: the machine's
//                                            copy bandwidth, to quote the rows above against
//   BM_Memcpy16MBTwice/pipelined:<0|1>       two copies of 16 MB one after the other (a → b → c),
//                                            or overlapped in 1 MiB pieces by two threads: what an
//                                            echo's copies (four, two per direction) could cost
//                                            at best, one after another or each pair overlapped
//   BM_Memcpy16MBSplit                       one 16 MB copy, half by each of two threads: four of
//                                            these are an echo's floor with both cores copying
//   BM_Pipe_Plain16MB                        16 MB through a plain pipe between two threads
//   BM_ProcessPool_SumOfSquares/<workers>    CPU-bound Map, 1 and 2 workers (the speedup)
//
// main() calls cf::InitProcessPool, so this binary serves as its own spawned workers.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/shared_buffer.h"
#include "cf/serialization/task.h"

namespace cf {
namespace {

int Noop(int x) { return x; }
std::vector<std::uint8_t> Echo(std::vector<std::uint8_t> data) { return data; }
// The seed tutorials' CPU-bound example (docs/tutorials.md): sum of i*i for i < n. Placed the
// same way in every build (the function on 64 bytes, its loop on 32): where the link happened to
// put it, its loop's compare-and-branch could straddle a 32-byte boundary, which Intel CPUs with
// the JCC-erratum microcode run about 25% slower — and that moved the 1-vs-2-worker speedup this
// benchmark reports (1.8–2.1×) with changes that had nothing to do with the pool.
__attribute__((aligned(64), optimize("align-loops=32"))) int64_t SumOfSquares(int64_t n) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) total += i * i;
  return total;
}

// Reads every byte: the sum of its 64-bit words (vectorised; memory-bound).
uint64_t Checksum(absl::Span<const char> bytes) {
  uint64_t sum = 0;
  const size_t words = bytes.size() / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i * 8, 8);
    sum += word;
  }
  for (size_t i = words * 8; i < bytes.size(); ++i) sum += static_cast<unsigned char>(bytes[i]);
  return sum;
}
uint64_t SharedBufferChecksum(const SharedBuffer& buffer) { return Checksum(buffer.data()); }

}  // namespace
}  // namespace cf

CF_TASK(cf::Noop);
CF_TASK(cf::Echo);
CF_TASK(cf::SumOfSquares);
CF_TASK(cf::SharedBufferChecksum);

namespace cf {
namespace {

StartMethod Method(int64_t index) {
  switch (index) {
    case 0:
      return StartMethod::kFork;
    case 1:
      return StartMethod::kForkServer;
    default:
      return StartMethod::kSpawn;
  }
}

void MethodArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("method(0=fork,1=forkserver,2=spawn)");
  for (int i = 0; i < 3; ++i) b->Arg(i);
}

ProcessPoolExecutor::Options PoolOptions(int64_t method, int workers) {
  ProcessPoolExecutor::Options options;
  options.max_workers = workers;
  options.start_method = Method(method);
  return options;
}

void BM_ProcessPool_SubmitNoop(benchmark::State& state) {
  constexpr int kTasks = 20'000;
  ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
  pool.Submit(&Noop, 0).Result();  // workers up
  pool.Submit(&Noop, 0).Result();
  for (auto _ : state) {
    std::vector<Future<int>> futures;
    futures.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i) futures.push_back(pool.Submit(&Noop, i));
    for (auto& f : futures) benchmark::DoNotOptimize(f.Result());
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_ProcessPool_SubmitNoop)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_MapChunked(benchmark::State& state) {
  constexpr int kItems = 1'000'000;
  ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
  pool.Submit(&Noop, 0).Result();
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  for (auto _ : state) {
    int64_t sum = 0;
    for (int r : pool.Map(&Noop, inputs, {.chunksize = 1000})) sum += r;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_ProcessPool_MapChunked)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_FirstResult(benchmark::State& state) {
  for (auto _ : state) {
    ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
    benchmark::DoNotOptimize(pool.Submit(&Noop, 1).Result());
    state.PauseTiming();  // shutting down is not part of it
    pool.Shutdown();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_ProcessPool_FirstResult)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_Echo16MB(benchmark::State& state) {
  ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
  std::vector<std::uint8_t> data(16 << 20, 7);
  pool.Submit(&Noop, 0).Result();
  for (auto _ : state) {
    benchmark::DoNotOptimize(pool.Submit(&Echo, data).Result().size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_ProcessPool_Echo16MB)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

constexpr size_t k16MB = 16 << 20;

void BM_ProcessPool_SharedBufferChecksum16MB(benchmark::State& state) {
  ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
  std::vector<char> bytes(k16MB, 7);
  const SharedBuffer buffer = SharedBuffer::Copy(bytes);
  const uint64_t expected = Checksum(buffer.data());
  pool.Submit(&Noop, 0).Result();
  for (auto _ : state) {
    if (pool.Submit(&SharedBufferChecksum, buffer).Result() != expected) {
      state.SkipWithError("wrong checksum");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(k16MB));
}
BENCHMARK(BM_ProcessPool_SharedBufferChecksum16MB)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_SharedBufferCopyChecksum16MB(benchmark::State& state) {
  ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
  std::vector<char> bytes(k16MB, 7);
  const uint64_t expected = Checksum(bytes);
  pool.Submit(&Noop, 0).Result();
  for (auto _ : state) {
    if (pool.Submit(&SharedBufferChecksum, SharedBuffer::Copy(bytes)).Result() != expected) {
      state.SkipWithError("wrong checksum");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(k16MB));
}
BENCHMARK(BM_ProcessPool_SharedBufferCopyChecksum16MB)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Checksum16MB(benchmark::State& state) {
  std::vector<char> bytes(k16MB, 7);
  for (auto _ : state) benchmark::DoNotOptimize(Checksum(bytes));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(k16MB));
}
BENCHMARK(BM_Checksum16MB)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Memcpy16MB(benchmark::State& state) {
  std::vector<char> from(k16MB, 7), to(k16MB, 0);  // both written once: warm, faulted in
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), k16MB);
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(k16MB));
}
BENCHMARK(BM_Memcpy16MB)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Memcpy16MBTwice(benchmark::State& state) {
  constexpr size_t kPiece = size_t{1} << 20;
  const bool pipelined = state.range(0) != 0;
  std::vector<char> a(k16MB, 7), b(k16MB, 0), c(k16MB, 0);
  for (auto _ : state) {
    if (!pipelined) {
      std::memcpy(b.data(), a.data(), k16MB);
      std::memcpy(c.data(), b.data(), k16MB);
    } else {
      std::atomic<size_t> copied{0};
      std::thread second([&] {
        for (size_t offset = 0; offset < k16MB; offset += kPiece) {
          while (copied.load(std::memory_order_acquire) < offset + kPiece) {
          }
          std::memcpy(c.data() + offset, b.data() + offset, kPiece);
        }
      });
      for (size_t offset = 0; offset < k16MB; offset += kPiece) {
        std::memcpy(b.data() + offset, a.data() + offset, kPiece);
        copied.store(offset + kPiece, std::memory_order_release);
      }
      second.join();
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(k16MB));
}
BENCHMARK(BM_Memcpy16MBTwice)->ArgName("pipelined")->Arg(0)->Arg(1)->UseRealTime()->Unit(
    benchmark::kMillisecond);

// One 16 MB copy split in halves between this thread and a second one that waits, spinning, for
// its half: the fastest a copy gets when both cores work on it. An echo needs four copies, so four
// times this is its floor on this machine, whatever the protocol.
void BM_Memcpy16MBSplit(benchmark::State& state) {
  std::vector<char> from(k16MB, 7), to(k16MB, 0);
  constexpr size_t kHalf = k16MB / 2;
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<bool> stop{false};
  std::thread second([&] {
    int seen = 0;
    while (true) {
      int round;
      while ((round = started.load(std::memory_order_acquire)) == seen) {
        if (stop.load(std::memory_order_acquire)) return;
      }
      seen = round;
      std::memcpy(to.data() + kHalf, from.data() + kHalf, kHalf);
      finished.store(round, std::memory_order_release);
    }
  });
  int round = 0;
  for (auto _ : state) {
    started.store(++round, std::memory_order_release);
    std::memcpy(to.data(), from.data(), kHalf);
    while (finished.load(std::memory_order_acquire) != round) {
    }
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
  }
  stop.store(true, std::memory_order_release);
  second.join();
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(k16MB));
}
BENCHMARK(BM_Memcpy16MBSplit)->UseRealTime()->Unit(benchmark::kMillisecond);

// The first call of a new pool: workers start, and the 16 MB travel into buffers (rings, arenas,
// the worker's heap) that nothing has touched yet. Shutting down is not part of it.
void BM_ProcessPool_Echo16MBFirstCall(benchmark::State& state) {
  std::vector<std::uint8_t> data(16 << 20, 7);
  for (auto _ : state) {
    ProcessPoolExecutor pool(PoolOptions(state.range(0), 2));
    benchmark::DoNotOptimize(pool.Submit(&Echo, data).Result().size());
    state.PauseTiming();
    pool.Shutdown();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_ProcessPool_Echo16MBFirstCall)->Apply(MethodArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Pipe_Plain16MB(benchmark::State& state) {
  constexpr size_t kBytes = 16 << 20;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    state.SkipWithError("pipe2");
    return;
  }
  fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  std::vector<char> out(kBytes, 7), in(kBytes);
  for (auto _ : state) {
    std::thread writer([&] {
      size_t done = 0;
      while (done < kBytes) {
        const ssize_t n = write(fds[1], out.data() + done, kBytes - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
    });
    size_t done = 0;
    while (done < kBytes) {
      const ssize_t n = read(fds[0], in.data() + done, kBytes - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    writer.join();
  }
  close(fds[0]);
  close(fds[1]);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBytes));
}
BENCHMARK(BM_Pipe_Plain16MB)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ProcessPool_SumOfSquares(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  ProcessPoolExecutor pool(PoolOptions(0, workers));
  for (int i = 0; i < workers; ++i) pool.Submit(&Noop, 0).Result();
  const std::vector<int64_t> inputs(8, 20'000'000);
  for (auto _ : state) {
    int64_t total = 0;
    for (int64_t r : pool.Map(&SumOfSquares, inputs)) total += r;
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(inputs.size()));
}
BENCHMARK(BM_ProcessPool_SumOfSquares)->ArgName("workers")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cf

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
