#include "cf/serialization/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/internal/fd_io.h"

namespace cf {
namespace {


// Header layout (see wire.h).
constexpr size_t kMagicEnd = 4;
constexpr size_t kKindEnd = 5;
constexpr size_t kFlagsEnd = 6;
constexpr size_t kReservedEnd = 8;
constexpr size_t kTaskIdEnd = 16;
constexpr size_t kPayloadSizeEnd = 24;
static_assert(kPayloadSizeEnd == kFrameHeaderSize);

void StoreLe(std::uint64_t value, int bytes, char* out) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint64_t LoadLe(const char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  }
  return value;
}

const char* HeaderFieldAt(size_t offset) {
  if (offset < kMagicEnd) return "magic";
  if (offset < kKindEnd) return "kind";
  if (offset < kFlagsEnd) return "flags";
  if (offset < kReservedEnd) return "reserved";
  if (offset < kTaskIdEnd) return "task id";
  return "payload size";
}


// Validates the header fields that the bytes in [old_filled, filled) complete; fills *parsed
// once all 24 bytes are in.
absl::Status ValidateHeaderFields(const char* header, size_t old_filled, size_t filled,
                                  std::uint64_t max_payload_size, FrameHeader* parsed) {
  auto completes = [&](size_t end) { return old_filled < end && filled >= end; };
  if (completes(kMagicEnd)) {
    const auto magic = static_cast<std::uint32_t>(LoadLe(header, 4));
    if (magic != kFrameMagic) {
      return absl::DataLossError(absl::StrFormat(
          "malformed frame header: bad magic 0x%08x (expected 0x%08x, \"cfw1\"): the stream is "
          "not a cf frame stream, or it lost its place",
          magic, kFrameMagic));
    }
  }
  if (completes(kKindEnd)) {
    const auto kind = static_cast<std::uint8_t>(header[4]);
    if (!IsValidFrameKind(kind)) {
      return absl::DataLossError(
          absl::StrFormat("malformed frame header: unknown frame kind %d", kind));
    }
  }
  if (completes(kFlagsEnd) && header[5] != 0) {
    return absl::DataLossError(
        absl::StrFormat("malformed frame header: flags byte is 0x%02x, must be 0",
                        static_cast<unsigned char>(header[5])));
  }
  if (completes(kReservedEnd) && LoadLe(header + 6, 2) != 0) {
    return absl::DataLossError(absl::StrFormat(
        "malformed frame header: reserved bytes are 0x%04x, must be 0", LoadLe(header + 6, 2)));
  }
  if (completes(kPayloadSizeEnd)) {
    parsed->kind = static_cast<FrameKind>(header[4]);
    parsed->task_id = LoadLe(header + 8, 8);
    parsed->payload_size = LoadLe(header + 16, 8);
    if (parsed->payload_size > max_payload_size) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "frame payload of %d bytes exceeds the limit of %d bytes (%s frame, task %d)",
          parsed->payload_size, max_payload_size, FrameKindName(parsed->kind), parsed->task_id));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view FrameKindName(FrameKind kind) {
  switch (kind) {
    case FrameKind::kCall:
      return "call";
    case FrameKind::kResult:
      return "result";
    case FrameKind::kException:
      return "exception";
    case FrameKind::kInitialize:
      return "initialize";
    case FrameKind::kHello:
      return "hello";
    case FrameKind::kShutdown:
      return "shutdown";
    case FrameKind::kGoodbye:
      return "goodbye";
    case FrameKind::kConfigure:
      return "configure";
    case FrameKind::kWake:
      return "wake";
  }
  return "unknown";
}

bool IsValidFrameKind(std::uint8_t value) {
  return value >= static_cast<std::uint8_t>(FrameKind::kCall) &&
         value <= static_cast<std::uint8_t>(FrameKind::kWake);
}

void EncodeFrameHeader(const FrameHeader& header, char* out) {
  StoreLe(kFrameMagic, 4, out);
  out[4] = static_cast<char>(header.kind);
  out[5] = 0;
  StoreLe(0, 2, out + 6);
  StoreLe(header.task_id, 8, out + 8);
  StoreLe(header.payload_size, 8, out + 16);
}

absl::StatusOr<FrameHeader> DecodeFrameHeader(absl::Span<const char> bytes,
                                              std::uint64_t max_payload_size) {
  if (bytes.size() != kFrameHeaderSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a frame header is %d bytes, got %d", kFrameHeaderSize, bytes.size()));
  }
  FrameHeader header;
  absl::Status status =
      ValidateHeaderFields(bytes.data(), 0, kFrameHeaderSize, max_payload_size, &header);
  if (!status.ok()) return status;
  return header;
}

void AppendFrame(FrameKind kind, std::uint64_t task_id, absl::Span<const char> payload,
                 ByteBuffer* out) {
  EncodeFrameHeader(FrameHeader{kind, task_id, payload.size()},
                    out->AppendUninitialized(kFrameHeaderSize));
  out->Append(payload);
}

bool IsEndOfStream(const absl::Status& status) {
  return status.code() == absl::StatusCode::kOutOfRange;
}

// --- FrameDecoder ---

FrameDecoder::FrameDecoder(std::uint64_t max_payload_size)
    : max_payload_size_(max_payload_size) {}

absl::Status FrameDecoder::Fail(absl::Status status) {
  status_ = std::move(status);
  state_ = State::kFailed;
  return status_;
}

absl::Status FrameDecoder::CheckHeaderPrefix(size_t old_filled) {
  absl::Status status = ValidateHeaderFields(header_, old_filled, header_filled_,
                                             max_payload_size_, &parsed_);
  if (!status.ok()) return Fail(std::move(status));
  if (header_filled_ == kFrameHeaderSize) {
    frame_.kind = parsed_.kind;
    frame_.task_id = parsed_.task_id;
    frame_.payload.clear();
    frame_.payload.ResizeUninitialized(parsed_.payload_size);
    payload_filled_ = 0;
    state_ = parsed_.payload_size == 0 ? State::kReady : State::kPayload;
  }
  return absl::OkStatus();
}

absl::Span<char> FrameDecoder::WritableSpan() {
  switch (state_) {
    case State::kHeader:
      return absl::Span<char>(header_ + header_filled_, kFrameHeaderSize - header_filled_);
    case State::kPayload:
      return absl::Span<char>(frame_.payload.data() + payload_filled_,
                              frame_.payload.size() - payload_filled_);
    case State::kReady:
    case State::kFailed:
      break;
  }
  return absl::Span<char>();
}

absl::Status FrameDecoder::Commit(size_t n) {
  if (state_ == State::kFailed) return status_;
  if (n > WritableSpan().size()) {
    return Fail(absl::InternalError(absl::StrFormat(
        "FrameDecoder::Commit(%d) is more than the %d bytes asked for", n, WritableSpan().size())));
  }
  if (n == 0) return absl::OkStatus();
  if (state_ == State::kHeader) {
    const size_t old_filled = header_filled_;
    header_filled_ += n;
    return CheckHeaderPrefix(old_filled);
  }
  payload_filled_ += n;
  if (payload_filled_ == frame_.payload.size()) state_ = State::kReady;
  return absl::OkStatus();
}

absl::StatusOr<size_t> FrameDecoder::Append(absl::Span<const char> input) {
  size_t used = 0;
  while (used < input.size() && (state_ == State::kHeader || state_ == State::kPayload)) {
    absl::Span<char> target = WritableSpan();
    const size_t n = std::min(target.size(), input.size() - used);
    std::memcpy(target.data(), input.data() + used, n);
    used += n;
    absl::Status status = Commit(n);
    if (!status.ok()) return status;
  }
  if (state_ == State::kFailed) return status_;
  return used;
}

Frame FrameDecoder::TakeFrame() {
  Frame frame = std::move(frame_);
  frame_ = Frame();
  state_ = State::kHeader;
  header_filled_ = 0;
  payload_filled_ = 0;
  return frame;
}

void FrameDecoder::RecycleBuffer(ByteBuffer buffer) {
  if (state_ == State::kHeader && buffer.capacity() > frame_.payload.capacity()) {
    buffer.clear();
    frame_.payload = std::move(buffer);
  }
}

absl::Status FrameDecoder::Finish() const {
  switch (state_) {
    case State::kFailed:
      return status_;
    case State::kReady:
      return absl::OkStatus();
    case State::kHeader:
      if (header_filled_ == 0) return absl::OkStatus();
      return absl::DataLossError(absl::StrFormat(
          "truncated frame: the stream ended after %d of the %d header bytes, in the %s field",
          header_filled_, kFrameHeaderSize, HeaderFieldAt(header_filled_)));
    case State::kPayload:
      return absl::DataLossError(absl::StrFormat(
          "truncated frame: the stream ended after %d of the %d payload bytes of a %s frame "
          "(task %d)",
          payload_filled_, parsed_.payload_size, FrameKindName(parsed_.kind), parsed_.task_id));
  }
  return absl::OkStatus();
}

}  // namespace cf
