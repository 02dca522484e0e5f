// libFuzzer target for the frame decoder and every payload decoder behind it.
//
// Input: one mode byte, then a byte stream. The stream is decoded three ways — pushed into a
// FrameDecoder in chunks whose size the mode byte picks, pulled byte by byte, and read by a
// FrameReader from a memory file — and the three must agree. Every frame is then handed to the
// decoder for its kind: kCall/kInitialize payloads run through RunTaskCall (the tasks in
// fuzz_tasks.cc), whose outcome must always decode; kResult payloads are decoded as each task's
// result type; kException payloads are rebuilt and rethrown. Decoded frames must re-encode to
// exactly the bytes they came from.
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"
#include "tests/serialization/fuzz_tasks.h"

namespace {

// Small, so inputs cannot make the fuzzer spend its time allocating.
constexpr std::uint64_t kMaxPayload = 1 << 16;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "frame_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

struct Decoded {
  std::vector<cf::Frame> frames;
  absl::Status end;  // the status after the last frame
};

Decoded PushDecode(absl::Span<const char> input, size_t chunk) {
  Decoded out;
  cf::FrameDecoder decoder(kMaxPayload);
  while (true) {
    absl::Span<const char> piece = input.subspan(0, std::min(chunk, input.size()));
    absl::StatusOr<size_t> used = decoder.Append(piece);
    if (!used.ok()) {
      out.end = used.status();
      return out;
    }
    input.remove_prefix(*used);
    if (decoder.frame_ready()) {
      out.frames.push_back(decoder.TakeFrame());
      continue;
    }
    if (input.empty()) break;
  }
  out.end = decoder.Finish();
  return out;
}

Decoded PullDecode(absl::Span<const char> input) {
  Decoded out;
  cf::FrameDecoder decoder(kMaxPayload);
  for (char byte : input) {
    absl::Span<char> target = decoder.WritableSpan();
    Check(!target.empty(), "a decoder that has not failed asks for bytes");
    target[0] = byte;
    absl::Status status = decoder.Commit(1);
    if (!status.ok()) {
      out.end = status;
      return out;
    }
    if (decoder.frame_ready()) out.frames.push_back(decoder.TakeFrame());
  }
  out.end = decoder.Finish();
  return out;
}

int MemoryFile() {
  static const int fd = memfd_create("frame_fuzzer", MFD_CLOEXEC);
  return fd;
}

Decoded ReaderDecode(absl::Span<const char> input) {
  Decoded out;
  const int fd = MemoryFile();
  Check(fd >= 0, "memfd_create works");
  Check(ftruncate(fd, 0) == 0, "ftruncate works");
  size_t done = 0;
  while (done < input.size()) {
    ssize_t n = pwrite(fd, input.data() + done, input.size() - done, static_cast<off_t>(done));
    Check(n > 0, "pwrite works");
    done += static_cast<size_t>(n);
  }
  Check(lseek(fd, 0, SEEK_SET) == 0, "lseek works");
  cf::FrameReader reader(fd, {.max_payload_size = kMaxPayload});
  cf::Frame frame;
  while (true) {
    absl::Status status = reader.ReadInto(&frame);
    if (!status.ok()) {
      out.end = cf::IsEndOfStream(status) ? absl::OkStatus() : status;
      return out;
    }
    out.frames.push_back(std::move(frame));
    frame = cf::Frame();
  }
}

bool SameFrames(const Decoded& a, const Decoded& b) {
  if (a.frames.size() != b.frames.size() || a.end.code() != b.end.code()) return false;
  for (size_t i = 0; i < a.frames.size(); ++i) {
    if (a.frames[i].kind != b.frames[i].kind || a.frames[i].task_id != b.frames[i].task_id ||
        a.frames[i].payload != b.frames[i].payload) {
      return false;
    }
  }
  return true;
}

void Rethrow(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    (void)e.what();
  }
}

template <typename R>
void TryResults(absl::Span<const char> payload, std::uint64_t count) {
  absl::StatusOr<std::vector<cf::ResultValue<R>>> results = cf::DecodeResults<R>(payload, count);
  (void)results;
}

void DecodeResultPayload(absl::Span<const char> payload) {
  std::uint64_t count = 1;
  if (payload.size() >= 8) std::memcpy(&count, payload.data(), 8);
  if (count > payload.size()) count = 1;  // keep DecodeResults' allocation small
  TryResults<std::uint64_t>(payload, count);
  TryResults<std::optional<cf_fuzz::Scalar>>(payload, count);
  TryResults<cf_fuzz::Tree>(payload, count);
  TryResults<std::int64_t>(payload, count);
  TryResults<void>(payload, count);
}

// The outcome of RunTaskCall is produced by us: it must always decode.
void CheckOutcome(const cf::TaskOutcome& outcome) {
  if (outcome.kind == cf::FrameKind::kException) {
    absl::StatusOr<std::exception_ptr> error = cf::DecodeException(outcome.payload);
    Check(error.ok(), "RunTaskCall's exception payload decodes");
    Rethrow(*error);
    return;
  }
  Check(outcome.kind == cf::FrameKind::kResult, "RunTaskCall answers kResult or kException");
  std::uint64_t count = 0;
  Check(outcome.payload.size() >= 8, "a result payload starts with its count");
  std::memcpy(&count, outcome.payload.data(), 8);
  const std::string& task = outcome.task_name;
  absl::Status status;
  if (task == "cf_fuzz::Strings" || task == "cf_fuzz::Containers") {
    status = cf::DecodeResults<std::uint64_t>(outcome.payload, count).status();
  } else if (task == "cf_fuzz::Variants") {
    status = cf::DecodeResults<std::optional<cf_fuzz::Scalar>>(outcome.payload, count).status();
  } else if (task == "cf_fuzz::Pointers") {
    status = cf::DecodeResults<std::int64_t>(outcome.payload, count).status();
  } else if (task == "cf_fuzz::Trees") {
    status = cf::DecodeResults<cf_fuzz::Tree>(outcome.payload, count).status();
  } else if (task == "cf_fuzz::Throws") {
    status = cf::DecodeResults<std::int32_t>(outcome.payload, count).status();
  } else if (task == "cf_fuzz::Nothing") {
    status = cf::DecodeResults<void>(outcome.payload, count).status();
  }
  Check(status.ok(), "RunTaskCall's result payload decodes as the task's result type");
}

void HandleFrame(const cf::Frame& frame) {
  switch (frame.kind) {
    case cf::FrameKind::kCall:
    case cf::FrameKind::kInitialize:
      CheckOutcome(cf::RunTaskCall(frame.payload));
      break;
    case cf::FrameKind::kResult:
      DecodeResultPayload(frame.payload);
      break;
    case cf::FrameKind::kException: {
      absl::StatusOr<std::exception_ptr> error = cf::DecodeException(frame.payload);
      if (error.ok()) Rethrow(*error);
      break;
    }
    case cf::FrameKind::kHello:
    case cf::FrameKind::kShutdown:
    case cf::FrameKind::kGoodbye:
    case cf::FrameKind::kConfigure:
    case cf::FrameKind::kWake:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + (data[0] & 0x3f) * (data[0] >> 6 ? 17 : 1);
  absl::Span<const char> input(reinterpret_cast<const char*>(data) + 1, size - 1);

  Decoded pushed = PushDecode(input, chunk);
  Check(SameFrames(pushed, PullDecode(input)), "push and pull decoding agree");
  Check(SameFrames(pushed, ReaderDecode(input)), "the decoder and FrameReader agree");

  cf::ByteBuffer reencoded;
  for (const cf::Frame& frame : pushed.frames) {
    cf::AppendFrame(frame.kind, frame.task_id, frame.payload, &reencoded);
  }
  Check(reencoded.size() <= input.size() &&
            reencoded.view() == absl::string_view(input.data(), reencoded.size()),
        "decoded frames re-encode to the bytes they came from");

  for (const cf::Frame& frame : pushed.frames) HandleFrame(frame);
  return 0;
}
