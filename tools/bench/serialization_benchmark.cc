// Benchmarks of //serialization: encoding and decoding task calls, and frames through a real
// pipe between two threads next to a plain write()/read() of the same bytes on the same kind of
// pipe (1 MiB pipe buffers for both). After the runs, a table puts the frame and plain-pipe
// bandwidths side by side.
//
//   bazel run -c opt //tools/bench:serialization_benchmark
//
// SIGPIPE is ignored process-wide, as Python does and as a process pool should: FrameWriter then
// skips its per-write SIGPIPE masking. BM_Frame_PipeRoundTrip_MaskingSigpipe measures the masking.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/task.h"
#include "cf/serialization/value.h"
#include "cf/serialization/wire.h"

std::int32_t BenchIdentity(std::int32_t x) { return x; }
CF_TASK(BenchIdentity);

std::int64_t BenchSum(const std::vector<std::int32_t>& values) {
  return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}
CF_TASK(BenchSum);

std::uint64_t BenchSize(const std::vector<std::uint8_t>& bytes) { return bytes.size(); }
CF_TASK(BenchSize);

std::vector<std::uint8_t> BenchEcho(std::vector<std::uint8_t> bytes) { return bytes; }
CF_TASK(BenchEcho);

namespace {

// --- Encode + decode of calls, in one process. ---

// Parent encodes the call, worker decodes it, runs the task, encodes the result, parent decodes
// the result: everything a call costs apart from the pipe.
template <typename R, typename F, typename A>
void RunCallRoundTrip(benchmark::State& state, F* fn, const A& argument, size_t bytes) {
  cf::TaskOutcome outcome;
  for (auto _ : state) {
    cf::TaskCall call(fn, argument);
    cf::RunTaskCall(call.payload(), &outcome);
    absl::StatusOr<cf::ResultValue<R>> result = cf::DecodeResult<R>(outcome.payload);
    if (!result.ok()) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(*result);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(state.iterations());
}

void BM_Call_EncodeDecode_Int(benchmark::State& state) {
  RunCallRoundTrip<std::int32_t>(state, &BenchIdentity, 42, sizeof(std::int32_t));
}
BENCHMARK(BM_Call_EncodeDecode_Int);

void BM_Call_EncodeDecode_VectorInt1M(benchmark::State& state) {
  std::vector<std::int32_t> values(1 << 20);
  std::iota(values.begin(), values.end(), 0);
  RunCallRoundTrip<std::int64_t>(state, &BenchSum, values, values.size() * sizeof(std::int32_t));
}
BENCHMARK(BM_Call_EncodeDecode_VectorInt1M)->Unit(benchmark::kMillisecond);

void BM_Call_EncodeDecode_Bytes16M(benchmark::State& state) {
  std::vector<std::uint8_t> bytes(16 << 20, 7);
  RunCallRoundTrip<std::uint64_t>(state, &BenchSize, bytes, bytes.size());
}
BENCHMARK(BM_Call_EncodeDecode_Bytes16M)->Unit(benchmark::kMillisecond);

// The 16 MB echo's serialization work: 16 MB in as an argument and 16 MB out as the result.
void BM_Call_EncodeDecode_Echo16M(benchmark::State& state) {
  std::vector<std::uint8_t> bytes(16 << 20, 7);
  RunCallRoundTrip<std::vector<std::uint8_t>>(state, &BenchEcho, bytes, 2 * bytes.size());
}
BENCHMARK(BM_Call_EncodeDecode_Echo16M)->Unit(benchmark::kMillisecond);

// Values alone: cf::Encode then cf::Decode.
void BM_Value_EncodeDecode_VectorInt1M(benchmark::State& state) {
  std::vector<std::int32_t> values(1 << 20, 3);
  for (auto _ : state) {
    cf::ByteBuffer bytes = cf::Encode(values);
    absl::StatusOr<std::vector<std::int32_t>> back = cf::Decode<std::vector<std::int32_t>>(bytes);
    benchmark::DoNotOptimize(back);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * values.size() * sizeof(std::int32_t)));
}
BENCHMARK(BM_Value_EncodeDecode_VectorInt1M)->Unit(benchmark::kMillisecond);

// --- Through a pipe between two threads. ---

class BenchPipe {
 public:
  BenchPipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) std::abort();
    (void)cf::EnlargePipeBuffer(fds_[1], 1 << 20);
  }
  ~BenchPipe() {
    CloseRead();
    if (fds_[1] >= 0) close(fds_[1]);
  }
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  // Unblocks and stops the writer thread: its next write fails with EPIPE.
  void CloseRead() {
    if (fds_[0] >= 0) close(fds_[0]);
    fds_[0] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

void RunFramePipe(benchmark::State& state, bool mask_sigpipe) {
  const size_t size = static_cast<size_t>(state.range(0));
  const cf::ByteBuffer payload(std::string(size, 'p'));
  if (mask_sigpipe) signal(SIGPIPE, SIG_DFL);
  BenchPipe pipe;
  std::thread writer_thread([&] {
    cf::FrameWriter writer(pipe.write_fd());
    for (std::uint64_t id = 0; writer.Write(cf::FrameKind::kResult, id, payload).ok(); ++id) {
    }
  });
  cf::FrameReader reader(pipe.read_fd());
  cf::Frame frame;
  for (auto _ : state) {
    if (!reader.ReadInto(&frame).ok() || frame.payload.size() != size) {
      state.SkipWithError("frame read failed");
      break;
    }
    benchmark::DoNotOptimize(frame.payload.data());
  }
  pipe.CloseRead();
  writer_thread.join();
  if (mask_sigpipe) signal(SIGPIPE, SIG_IGN);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void BM_Frame_PipeRoundTrip(benchmark::State& state) { RunFramePipe(state, false); }
BENCHMARK(BM_Frame_PipeRoundTrip)->Arg(64)->Arg(64 << 10)->Arg(16 << 20)->UseRealTime();

void BM_Frame_PipeRoundTrip_MaskingSigpipe(benchmark::State& state) { RunFramePipe(state, true); }
BENCHMARK(BM_Frame_PipeRoundTrip_MaskingSigpipe)->Arg(64)->UseRealTime();

// The same bytes with plain write() and read(): the reader takes exactly `size` bytes per
// iteration into one reused buffer.
void BM_PlainPipe_RoundTrip(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::string payload(size, 'p');
  BenchPipe pipe;
  std::thread writer_thread([&] {
    while (true) {
      size_t done = 0;
      while (done < size) {
        const ssize_t n = write(pipe.write_fd(), payload.data() + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<size_t>(n);
      }
    }
  });
  std::string buffer(size, '\0');
  for (auto _ : state) {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = read(pipe.read_fd(), buffer.data() + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    if (done != size) {
      state.SkipWithError("read failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  pipe.CloseRead();
  writer_thread.join();
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
BENCHMARK(BM_PlainPipe_RoundTrip)->Arg(64)->Arg(64 << 10)->Arg(16 << 20)->UseRealTime();

// Prints the usual console output, then frames against the plain pipe, size by size.
class ComparingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) rates_[run.benchmark_name()] = it->second.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nFrames against a plain pipe (same binary, same 1 MiB pipe buffers):\n");
    std::printf("%10s %16s %16s %8s\n", "payload", "frames MB/s", "plain MB/s", "ratio");
    for (const char* size : {"64", "65536", "16777216"}) {
      const auto frame = rates_.find(absl::StrFormat("BM_Frame_PipeRoundTrip/%s/real_time", size));
      const auto plain = rates_.find(absl::StrFormat("BM_PlainPipe_RoundTrip/%s/real_time", size));
      if (frame == rates_.end() || plain == rates_.end() || plain->second <= 0) continue;
      std::printf("%10s %16.1f %16.1f %7.0f%%\n", size, frame->second / 1e6, plain->second / 1e6,
                  100.0 * frame->second / plain->second);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ComparingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
