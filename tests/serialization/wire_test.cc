// Frames: header layout, incremental decoding at every split, every malformed case, and the
// reader/writer pair over real pipes and over injected system-call failures.
#include "cf/serialization/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/internal/fd_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

// Every blocking call in these tests is bounded by this.
absl::Time Deadline() { return absl::Now() + absl::Seconds(60); }

std::string Pattern(size_t size, int seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 31 + seed * 7 + (i >> 12)) & 0xff);
  return s;
}

struct TestFrame {
  cf::FrameKind kind;
  std::uint64_t id;
  std::string payload;
};

std::vector<TestFrame> SampleFrames() {
  return {{cf::FrameKind::kCall, 1, Pattern(10, 1)},
          {cf::FrameKind::kResult, 0xffffffffffffffff, ""},
          {cf::FrameKind::kException, 3, Pattern(1, 3)},
          {cf::FrameKind::kInitialize, 4, Pattern(100, 4)},
          {cf::FrameKind::kHello, 5, ""},
          {cf::FrameKind::kShutdown, 6, Pattern(3, 6)},
          {cf::FrameKind::kGoodbye, 7, Pattern(40, 7)}};
}

cf::ByteBuffer Stream(const std::vector<TestFrame>& frames) {
  cf::ByteBuffer out;
  for (const auto& f : frames) cf::AppendFrame(f.kind, f.id, f.payload, &out);
  return out;
}

void ExpectFrame(const cf::Frame& frame, const TestFrame& expected) {
  EXPECT_EQ(frame.kind, expected.kind);
  EXPECT_EQ(frame.task_id, expected.id);
  EXPECT_EQ(frame.payload.view(), expected.payload);
}

class Pipe {
 public:
  explicit Pipe(int flags = 0) { EXPECT_EQ(pipe2(fds_, O_CLOEXEC | flags), 0); }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseRead() {
    if (fds_[0] >= 0) close(fds_[0]);
    fds_[0] = -1;
  }
  void CloseWrite() {
    if (fds_[1] >= 0) close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

void WriteAll(int fd, absl::Span<const char> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << strerror(errno);
    done += static_cast<size_t>(n);
  }
}

// --- Header. ---

TEST(FrameHeaderTest, LayoutIsLittleEndianWithMagic) {
  char bytes[cf::kFrameHeaderSize];
  cf::EncodeFrameHeader({cf::FrameKind::kResult, 0x0102030405060708, 0x1122}, bytes);
  EXPECT_EQ(std::string(bytes, 4), "cfw1");
  EXPECT_EQ(bytes[4], 2);
  EXPECT_EQ(bytes[5], 0);
  EXPECT_EQ(bytes[6], 0);
  EXPECT_EQ(bytes[7], 0);
  EXPECT_EQ(bytes[8], 0x08);
  EXPECT_EQ(bytes[15], 0x01);
  EXPECT_EQ(bytes[16], 0x22);
  EXPECT_EQ(bytes[17], 0x11);
  absl::StatusOr<cf::FrameHeader> header = cf::DecodeFrameHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->kind, cf::FrameKind::kResult);
  EXPECT_EQ(header->task_id, 0x0102030405060708u);
  EXPECT_EQ(header->payload_size, 0x1122u);
}

TEST(FrameHeaderTest, KindNames) {
  EXPECT_EQ(cf::FrameKindName(cf::FrameKind::kCall), "call");
  EXPECT_EQ(cf::FrameKindName(cf::FrameKind::kGoodbye), "goodbye");
  EXPECT_EQ(cf::FrameKindName(cf::FrameKind::kConfigure), "configure");
  EXPECT_EQ(cf::FrameKindName(cf::FrameKind::kWake), "wake");
  EXPECT_EQ(cf::FrameKindName(static_cast<cf::FrameKind>(99)), "unknown");
  EXPECT_FALSE(cf::IsValidFrameKind(0));
  EXPECT_TRUE(cf::IsValidFrameKind(1));
  EXPECT_TRUE(cf::IsValidFrameKind(7));
  EXPECT_TRUE(cf::IsValidFrameKind(8));
  EXPECT_TRUE(cf::IsValidFrameKind(9));
  EXPECT_FALSE(cf::IsValidFrameKind(10));
}

std::string Header(cf::FrameKind kind, std::uint64_t id, std::uint64_t size) {
  char bytes[cf::kFrameHeaderSize];
  cf::EncodeFrameHeader({kind, id, size}, bytes);
  return std::string(bytes, sizeof(bytes));
}

TEST(FrameHeaderTest, MalformedHeadersAreClearErrors) {
  std::string bad_magic = Header(cf::FrameKind::kCall, 1, 0);
  bad_magic[0] = 'X';
  absl::Status status = cf::DecodeFrameHeader(bad_magic).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("bad magic"));

  for (int kind : {0, 10, 42, 255}) {
    std::string bytes = Header(cf::FrameKind::kCall, 1, 0);
    bytes[4] = static_cast<char>(kind);
    status = cf::DecodeFrameHeader(bytes).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat("unknown frame kind ", kind)));
  }

  std::string flags = Header(cf::FrameKind::kCall, 1, 0);
  flags[5] = 1;
  EXPECT_THAT(std::string(cf::DecodeFrameHeader(flags).status().message()),
              HasSubstr("flags byte"));
  std::string reserved = Header(cf::FrameKind::kCall, 1, 0);
  reserved[7] = 1;
  EXPECT_THAT(std::string(cf::DecodeFrameHeader(reserved).status().message()),
              HasSubstr("reserved bytes"));

  EXPECT_EQ(cf::DecodeFrameHeader(std::string(23, 'c')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FrameHeaderTest, SizeLimitDefaultsToOneGibAndIsConfigurable) {
  EXPECT_EQ(cf::kDefaultMaxFramePayload, std::uint64_t{1} << 30);
  EXPECT_TRUE(cf::DecodeFrameHeader(Header(cf::FrameKind::kCall, 9, 1 << 30)).ok());
  absl::Status status =
      cf::DecodeFrameHeader(Header(cf::FrameKind::kCall, 9, (1 << 30) + 1)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("1073741825 bytes exceeds the limit of 1073741824"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("task 9"));
  status = cf::DecodeFrameHeader(Header(cf::FrameKind::kCall, 1, ~std::uint64_t{0})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(cf::DecodeFrameHeader(Header(cf::FrameKind::kCall, 1, 100), 100).ok());
  EXPECT_EQ(cf::DecodeFrameHeader(Header(cf::FrameKind::kCall, 1, 101), 100).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// --- Decoder. ---

std::vector<cf::Frame> DecodeAll(cf::FrameDecoder& decoder, absl::Span<const char> bytes) {
  std::vector<cf::Frame> frames;
  while (!bytes.empty()) {
    absl::StatusOr<size_t> used = decoder.Append(bytes);
    EXPECT_TRUE(used.ok()) << used.status();
    if (!used.ok()) break;
    bytes.remove_prefix(*used);
    if (decoder.frame_ready()) frames.push_back(decoder.TakeFrame());
  }
  if (decoder.frame_ready()) frames.push_back(decoder.TakeFrame());
  return frames;
}

TEST(FrameDecoderTest, SplitAtEveryByteBoundary) {
  const std::vector<TestFrame> expected = SampleFrames();
  const cf::ByteBuffer stream = Stream(expected);
  for (size_t split = 0; split <= stream.size(); ++split) {
    cf::FrameDecoder decoder;
    std::vector<cf::Frame> frames = DecodeAll(decoder, stream.span().subspan(0, split));
    std::vector<cf::Frame> rest = DecodeAll(decoder, stream.span().subspan(split));
    for (auto& f : rest) frames.push_back(std::move(f));
    ASSERT_EQ(frames.size(), expected.size()) << "split at " << split;
    for (size_t i = 0; i < frames.size(); ++i) ExpectFrame(frames[i], expected[i]);
    EXPECT_TRUE(decoder.Finish().ok());
  }
}

TEST(FrameDecoderTest, SplitAtEveryPairOfBoundaries) {
  const std::vector<TestFrame> expected = {{cf::FrameKind::kCall, 1, Pattern(30, 1)},
                                           {cf::FrameKind::kResult, 2, Pattern(5, 2)}};
  const cf::ByteBuffer stream = Stream(expected);
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      cf::FrameDecoder decoder;
      std::vector<cf::Frame> frames;
      for (auto piece : {stream.span().subspan(0, a), stream.span().subspan(a, b - a),
                         stream.span().subspan(b)}) {
        for (auto& f : DecodeAll(decoder, piece)) frames.push_back(std::move(f));
      }
      ASSERT_EQ(frames.size(), 2u) << a << "," << b;
      ExpectFrame(frames[0], expected[0]);
      ExpectFrame(frames[1], expected[1]);
    }
  }
}

TEST(FrameDecoderTest, PullStyleOneByteAtATime) {
  const std::vector<TestFrame> expected = SampleFrames();
  const cf::ByteBuffer stream = Stream(expected);
  cf::FrameDecoder decoder;
  std::vector<cf::Frame> frames;
  for (char byte : stream.view()) {
    absl::Span<char> target = decoder.WritableSpan();
    ASSERT_FALSE(target.empty());
    target[0] = byte;
    ASSERT_TRUE(decoder.Commit(1).ok());
    if (decoder.frame_ready()) frames.push_back(decoder.TakeFrame());
  }
  ASSERT_EQ(frames.size(), expected.size());
  for (size_t i = 0; i < frames.size(); ++i) ExpectFrame(frames[i], expected[i]);
  EXPECT_TRUE(decoder.AtFrameBoundary());
}

TEST(FrameDecoderTest, TruncationAtEveryByteNamesTheField) {
  const TestFrame frame = {cf::FrameKind::kCall, 77, Pattern(50, 9)};
  const cf::ByteBuffer stream = Stream({frame});
  const char* fields[] = {"magic",    "magic",    "magic",    "magic",    "kind",
                          "flags",    "reserved", "reserved", "task id",  "task id",
                          "task id",  "task id",  "task id",  "task id",  "task id",
                          "task id",  "payload size", "payload size", "payload size",
                          "payload size", "payload size", "payload size", "payload size",
                          "payload size"};
  for (size_t size = 0; size < stream.size(); ++size) {
    cf::FrameDecoder decoder;
    ASSERT_TRUE(decoder.Append(stream.span().subspan(0, size)).ok());
    absl::Status status = decoder.Finish();
    if (size == 0) {
      EXPECT_TRUE(status.ok());
      continue;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << size;
    if (size < cf::kFrameHeaderSize) {
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr(absl::StrCat("after ", size, " of the 24 header bytes, in the ",
                                         fields[size], " field")));
    } else {
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr(absl::StrCat("after ", size - cf::kFrameHeaderSize,
                                         " of the 50 payload bytes of a call frame (task 77)")));
    }
  }
}

TEST(FrameDecoderTest, FieldsAreCheckedAsSoonAsTheyArrive) {
  cf::FrameDecoder decoder;
  absl::StatusOr<size_t> used = decoder.Append("nope");
  EXPECT_EQ(used.status().code(), absl::StatusCode::kDataLoss);
  // The error is final.
  EXPECT_EQ(decoder.Append(Header(cf::FrameKind::kCall, 1, 0)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoder.Finish().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(decoder.WritableSpan().empty());

  cf::FrameDecoder kinds;
  std::string prefix = Header(cf::FrameKind::kCall, 1, 0).substr(0, 5);
  prefix[4] = 0;
  EXPECT_THAT(std::string(kinds.Append(prefix).status().message()),
              HasSubstr("unknown frame kind 0"));
}

TEST(FrameDecoderTest, OversizedLengthIsRejectedBeforeAllocation) {
  cf::FrameDecoder decoder(/*max_payload_size=*/1000);
  absl::StatusOr<size_t> used = decoder.Append(Header(cf::FrameKind::kResult, 5, 1001));
  EXPECT_EQ(used.status().code(), absl::StatusCode::kResourceExhausted);
  cf::FrameDecoder big;
  used = big.Append(Header(cf::FrameKind::kResult, 5, std::uint64_t{1} << 40));
  EXPECT_EQ(used.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(FrameDecoderTest, GarbagePayloadIsCarriedNotInterpreted) {
  // The frame layer passes payload bytes through; decoding them is the payload decoder's job
  // (see task_test and exception_test for garbage payloads).
  cf::FrameDecoder decoder;
  std::string garbage = Pattern(33, 5);
  std::vector<cf::Frame> frames =
      DecodeAll(decoder, Stream({{cf::FrameKind::kResult, 1, garbage}}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload.view(), garbage);
}

TEST(FrameDecoderTest, RandomGarbageStreamsFailCleanly) {
  std::uint64_t state = 12345;
  for (int round = 0; round < 5000; ++round) {
    std::string garbage(static_cast<size_t>(round % 80), '\0');
    for (char& c : garbage) {
      state = state * 6364136223846793005 + 1442695040888963407;
      c = static_cast<char>(state >> 56);
    }
    if (round % 3 == 0 && garbage.size() >= 4) std::memcpy(garbage.data(), "cfw1", 4);
    cf::FrameDecoder decoder(1 << 16);
    absl::StatusOr<size_t> used = decoder.Append(garbage);
    if (used.ok() && decoder.frame_ready()) decoder.TakeFrame();
    (void)decoder.Finish();
  }
}

// --- Reader and writer over real pipes. ---

TEST(FrameIoTest, FramesOfManySizesCrossAPipe) {
  Pipe pipe;
  const std::vector<size_t> sizes = {0, 1, 23, 24, 25, 64, 65535, 65536, 65537, 1 << 20,
                                     (1 << 20) + 3, size_t{16} << 20};
  std::thread writer_thread([&] {
    cf::FrameWriter writer(pipe.write_fd());
    for (size_t i = 0; i < sizes.size(); ++i) {
      std::string payload = Pattern(sizes[i], static_cast<int>(i));
      EXPECT_TRUE(writer.Write(cf::FrameKind::kResult, i, payload, Deadline()).ok());
    }
    pipe.CloseWrite();
  });
  cf::FrameReader reader(pipe.read_fd());
  cf::Frame frame;
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(reader.ReadInto(&frame, Deadline()).ok()) << i;
    EXPECT_EQ(frame.task_id, i);
    EXPECT_EQ(frame.payload.size(), sizes[i]);
    EXPECT_TRUE(frame.payload.view() == Pattern(sizes[i], static_cast<int>(i))) << i;
  }
  absl::Status end = reader.ReadInto(&frame, Deadline());
  EXPECT_TRUE(cf::IsEndOfStream(end)) << end;
  writer_thread.join();
}

TEST(FrameIoTest, SixtyFourMegabyteFrameThroughASmallPipe) {
  Pipe pipe;
  ASSERT_GE(fcntl(pipe.write_fd(), F_SETPIPE_SZ, 4096), 0);  // forces many partial writes
  const std::string payload = Pattern(size_t{64} << 20, 3);
  std::thread writer_thread([&] {
    cf::FrameWriter writer(pipe.write_fd());
    std::string head = "head";
    absl::Span<const char> parts[] = {head, payload};
    EXPECT_TRUE(writer.WriteParts(cf::FrameKind::kCall, 42, parts, Deadline()).ok());
  });
  cf::FrameReader reader(pipe.read_fd());
  absl::StatusOr<cf::Frame> frame = reader.Read(Deadline());
  writer_thread.join();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->task_id, 42u);
  ASSERT_EQ(frame->payload.size(), payload.size() + 4);
  EXPECT_EQ(frame->payload.view().substr(0, 4), "head");
  EXPECT_TRUE(frame->payload.view().substr(4) == payload);
}

TEST(FrameIoTest, ReadIntoReusesThePayloadBuffer) {
  Pipe pipe;
  ASSERT_TRUE(cf::EnlargePipeBuffer(pipe.write_fd(), 1 << 20).ok());
  cf::FrameWriter writer(pipe.write_fd());
  const std::string payload = Pattern(200000, 1);
  cf::FrameReader reader(pipe.read_fd());
  cf::Frame frame;
  const char* first_data = nullptr;
  for (int i = 0; i < 3; ++i) {
    std::thread writer_thread(
        [&] { EXPECT_TRUE(writer.Write(cf::FrameKind::kResult, i, payload, Deadline()).ok()); });
    ASSERT_TRUE(reader.ReadInto(&frame, Deadline()).ok());
    writer_thread.join();
    EXPECT_TRUE(frame.payload.view() == payload);
    if (i == 0) first_data = frame.payload.data();
    EXPECT_EQ(frame.payload.data(), first_data);
  }
}

TEST(FrameIoTest, NonBlockingDescriptorsWork) {
  Pipe pipe(O_NONBLOCK);
  const std::string payload = Pattern(3 << 20, 8);
  std::thread writer_thread([&] {
    cf::FrameWriter writer(pipe.write_fd());
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(writer.Write(cf::FrameKind::kCall, i, payload, Deadline()).ok());
    }
  });
  cf::FrameReader reader(pipe.read_fd());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<cf::Frame> frame = reader.Read(Deadline());
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_TRUE(frame->payload.view() == payload);
  }
  writer_thread.join();
}

TEST(FrameIoTest, EndOfStreamBetweenFramesIsClean) {
  Pipe pipe;
  {
    cf::FrameWriter writer(pipe.write_fd());
    ASSERT_TRUE(writer.Write(cf::FrameKind::kGoodbye, 1, "bye").ok());
  }
  pipe.CloseWrite();
  cf::FrameReader reader(pipe.read_fd());
  ASSERT_TRUE(reader.Read(Deadline()).ok());
  absl::Status end = reader.Read(Deadline()).status();
  EXPECT_TRUE(cf::IsEndOfStream(end)) << end;
  EXPECT_THAT(std::string(end.message()), HasSubstr("end of stream"));
  EXPECT_TRUE(cf::IsEndOfStream(reader.Read(Deadline()).status()));  // and it stays so
}

TEST(FrameIoTest, EndOfStreamInsideAFrameIsDataLossAtEveryCut) {
  const cf::ByteBuffer stream = Stream({{cf::FrameKind::kCall, 5, Pattern(20, 1)}});
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    Pipe pipe;
    WriteAll(pipe.write_fd(), stream.span().subspan(0, cut));
    pipe.CloseWrite();
    cf::FrameReader reader(pipe.read_fd());
    absl::Status status = reader.Read(Deadline()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << cut << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("truncated frame"));
    EXPECT_EQ(reader.Read(Deadline()).status(), status);  // final
  }
}

TEST(FrameIoTest, MalformedStreamsGiveTheirErrors) {
  struct Case {
    std::string bytes;
    absl::StatusCode code;
    std::string fragment;
  };
  std::string unknown_kind = Header(cf::FrameKind::kCall, 1, 0);
  unknown_kind[4] = 10;
  std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\n\r\n", absl::StatusCode::kDataLoss, "bad magic"},
      {unknown_kind, absl::StatusCode::kDataLoss, "unknown frame kind 10"},
      {Header(cf::FrameKind::kCall, 1, 2048), absl::StatusCode::kResourceExhausted,
       "exceeds the limit of 1024"},
  };
  for (const Case& c : cases) {
    Pipe pipe;
    WriteAll(pipe.write_fd(), c.bytes);  // the writer stays open: errors must not wait for EOF
    cf::FrameReader reader(pipe.read_fd(), {.max_payload_size = 1024});
    absl::Status status = reader.Read(Deadline()).status();
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.fragment));
  }
}

TEST(FrameIoTest, ReadDeadlineKeepsThePlace) {
  Pipe pipe;
  const cf::ByteBuffer stream = Stream({{cf::FrameKind::kResult, 8, Pattern(100, 2)}});
  cf::FrameReader reader(pipe.read_fd());
  absl::Status status = reader.Read(absl::Now() + absl::Milliseconds(20)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(reader.has_buffered_bytes());

  WriteAll(pipe.write_fd(), stream.span().subspan(0, 30));  // header and 6 payload bytes
  status = reader.Read(absl::Now() + absl::Milliseconds(20)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(reader.has_buffered_bytes());

  WriteAll(pipe.write_fd(), stream.span().subspan(30));
  absl::StatusOr<cf::Frame> frame = reader.Read(Deadline());
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->task_id, 8u);
  EXPECT_TRUE(frame->payload.view() == Pattern(100, 2));
  // A deadline already in the past still returns data that is there.
  WriteAll(pipe.write_fd(), stream);
  EXPECT_TRUE(reader.Read(absl::InfinitePast()).ok());
}

TEST(FrameIoTest, WriterSurvivesAClosedReader) {
  Pipe pipe;
  pipe.CloseRead();
  cf::FrameWriter writer(pipe.write_fd());
  absl::Status status = writer.Write(cf::FrameKind::kCall, 1, "payload");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("reader closed the pipe"));
  EXPECT_EQ(writer.Write(cf::FrameKind::kCall, 2, "again"), status);  // final
  // SIGPIPE was not left pending for this thread.
  sigset_t pending;
  sigemptyset(&pending);
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

TEST(FrameIoTest, WriterDeadlineBeforeAnyByteKeepsTheStream) {
  Pipe pipe(O_NONBLOCK);
  ASSERT_GE(fcntl(pipe.write_fd(), F_SETPIPE_SZ, 4096), 0);
  // Fill the pipe completely.
  std::string filler(4096, 'f');
  ASSERT_EQ(write(pipe.write_fd(), filler.data(), filler.size()), 4096);
  cf::FrameWriter writer(pipe.write_fd());
  absl::Status status =
      writer.Write(cf::FrameKind::kCall, 1, "x", absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  // Drain; the writer is still usable and the next frame arrives whole.
  char sink[4096];
  ASSERT_EQ(read(pipe.read_fd(), sink, sizeof(sink)), 4096);
  ASSERT_TRUE(writer.Write(cf::FrameKind::kCall, 2, "ok", Deadline()).ok());
  cf::FrameReader reader(pipe.read_fd());
  absl::StatusOr<cf::Frame> frame = reader.Read(Deadline());
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->task_id, 2u);
}

TEST(FrameIoTest, WriterDeadlineMidFrameBreaksTheWriter) {
  Pipe pipe(O_NONBLOCK);
  ASSERT_GE(fcntl(pipe.write_fd(), F_SETPIPE_SZ, 4096), 0);
  cf::FrameWriter writer(pipe.write_fd());
  absl::Status status = writer.Write(cf::FrameKind::kCall, 1, Pattern(100000, 1),
                                     absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(status.message()), HasSubstr("the frame was cut"));
  EXPECT_EQ(writer.Write(cf::FrameKind::kCall, 2, "x").code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(FrameIoTest, WriterRefusesOversizedPayloadWithoutWriting) {
  Pipe pipe(O_NONBLOCK);
  cf::FrameWriter writer(pipe.write_fd(), {.max_payload_size = 10});
  absl::Status status = writer.Write(cf::FrameKind::kCall, 1, Pattern(11, 0));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  char byte;
  EXPECT_EQ(read(pipe.read_fd(), &byte, 1), -1);  // nothing was written
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_TRUE(writer.Write(cf::FrameKind::kCall, 2, Pattern(10, 0)).ok());  // still usable
}

TEST(FrameIoTest, BadDescriptorIsAnError) {
  cf::FrameReader reader(-1);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(reader.Read(Deadline()).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // an error, not a wait for the deadline
  cf::FrameReader unbounded(-1);
  EXPECT_FALSE(unbounded.Read().ok());
  cf::FrameWriter writer(-1);
  EXPECT_FALSE(writer.Write(cf::FrameKind::kCall, 1, "x").ok());
}

TEST(FrameIoTest, EnlargePipeBuffer) {
  Pipe pipe;
  absl::StatusOr<int> size = cf::EnlargePipeBuffer(pipe.write_fd(), 1 << 20);
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_GE(*size, 65536);
  EXPECT_EQ(fcntl(pipe.write_fd(), F_GETPIPE_SZ), *size);
  EXPECT_FALSE(cf::EnlargePipeBuffer(-1).ok());
}

// --- Real signals: EINTR from a handler installed without SA_RESTART. ---

std::atomic<int> signals_seen{0};
void CountSignal(int) { signals_seen.fetch_add(1, std::memory_order_relaxed); }

TEST(FrameIoTest, ReadsAndWritesSurviveSignals) {
  struct sigaction action = {};
  action.sa_handler = &CountSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocked system calls fail with EINTR
  struct sigaction old_action;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &old_action), 0);

  Pipe pipe;
  const std::vector<TestFrame> expected = SampleFrames();
  const cf::ByteBuffer stream = Stream(expected);
  absl::Notification reader_started;
  std::atomic<bool> reader_done{false};
  std::vector<cf::Frame> frames;
  std::thread reader_thread([&] {
    cf::FrameReader reader(pipe.read_fd());
    reader_started.Notify();
    for (size_t i = 0; i < expected.size(); ++i) {
      absl::StatusOr<cf::Frame> frame = reader.Read();
      EXPECT_TRUE(frame.ok()) << frame.status();
      if (!frame.ok()) break;
      frames.push_back(*std::move(frame));
    }
    reader_done = true;
  });
  reader_started.WaitForNotification();
  // Byte by byte, each preceded by signals aimed at the reader (which is mostly blocked in read).
  for (size_t i = 0; i < stream.size(); ++i) {
    for (int k = 0; k < 3 && !reader_done; ++k) pthread_kill(reader_thread.native_handle(), SIGUSR1);
    WriteAll(pipe.write_fd(), stream.span().subspan(i, 1));
  }
  pipe.CloseWrite();  // bounds the reader: a lost byte would end in EOF, not a hang
  reader_thread.join();
  ASSERT_EQ(frames.size(), expected.size());
  for (size_t i = 0; i < frames.size(); ++i) ExpectFrame(frames[i], expected[i]);
  EXPECT_GT(signals_seen.load(), 0);

  // A writer interrupted while blocked on a full pipe.
  Pipe full;
  ASSERT_GE(fcntl(full.write_fd(), F_SETPIPE_SZ, 4096), 0);
  const std::string big = Pattern(1 << 20, 4);
  absl::Notification writer_started;
  std::atomic<bool> writer_done{false};
  std::thread writer_thread([&] {
    cf::FrameWriter writer(full.write_fd());
    writer_started.Notify();
    EXPECT_TRUE(writer.Write(cf::FrameKind::kCall, 1, big).ok());
    writer_done = true;
  });
  writer_started.WaitForNotification();
  cf::FrameReader reader(full.read_fd());
  std::thread signaller([&] {
    while (!writer_done) pthread_kill(writer_thread.native_handle(), SIGUSR1);
  });
  absl::StatusOr<cf::Frame> frame = reader.Read(Deadline());
  full.CloseRead();  // bounds the writer: anything left fails with EPIPE instead of blocking
  writer_thread.join();
  signaller.join();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_TRUE(frame->payload.view() == big);
  ASSERT_EQ(sigaction(SIGUSR1, &old_action, nullptr), 0);
}

// --- Injected system-call behaviour: short transfers, EINTR, EAGAIN on every call. ---

class ScriptedIo : public cf::internal::FdIo {
 public:
  // Reads come from `input`, at most `chunk` bytes at a time; every `eintr_every`-th call fails
  // with EINTR and every `eagain_every`-th with EAGAIN. Writes go to `output` likewise.
  ScriptedIo(std::string input, size_t chunk, int eintr_every, int eagain_every)
      : input_(std::move(input)),
        chunk_(chunk),
        eintr_every_(eintr_every),
        eagain_every_(eagain_every) {}

  ssize_t Read(int, void* buffer, size_t size) override {
    if (int e = Fault()) {
      errno = e;
      return -1;
    }
    const size_t n = std::min({size, chunk_, input_.size() - read_pos_});
    std::memcpy(buffer, input_.data() + read_pos_, n);
    read_pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t Writev(int, const struct iovec* iov, int count) override {
    if (int e = Fault()) {
      errno = e;
      return -1;
    }
    size_t budget = chunk_;
    size_t written = 0;
    for (int i = 0; i < count && budget > 0; ++i) {
      const size_t n = std::min(budget, iov[i].iov_len);
      output_.append(static_cast<const char*>(iov[i].iov_base), n);
      budget -= n;
      written += n;
    }
    return static_cast<ssize_t>(written);
  }
  int Poll(struct pollfd* fds, nfds_t, const struct timespec*) override {
    ++polls_;
    fds[0].revents = fds[0].events;
    return 1;
  }

  const std::string& output() const { return output_; }
  int faults() const { return faults_; }
  int polls() const { return polls_; }

 private:
  int Fault() {
    ++calls_;
    if (eintr_every_ > 0 && calls_ % eintr_every_ == 0) {
      ++faults_;
      return EINTR;
    }
    if (eagain_every_ > 0 && calls_ % eagain_every_ == 0) {
      ++faults_;
      return EAGAIN;
    }
    return 0;
  }

  std::string input_;
  size_t read_pos_ = 0;
  size_t chunk_;
  int eintr_every_;
  int eagain_every_;
  int calls_ = 0;
  int faults_ = 0;
  int polls_ = 0;
  std::string output_;
};

TEST(FrameIoTest, ScriptedShortReadsEintrAndEagain) {
  const std::vector<TestFrame> expected = SampleFrames();
  const cf::ByteBuffer stream = Stream(expected);
  for (size_t chunk : {1, 2, 5, 23, 24, 25, 1000}) {
    ScriptedIo io(std::string(stream.view()), chunk, /*eintr_every=*/2, /*eagain_every=*/3);
    cf::FrameReader reader(100, {.io = &io});
    for (const TestFrame& e : expected) {
      absl::StatusOr<cf::Frame> frame = reader.Read();
      ASSERT_TRUE(frame.ok()) << "chunk " << chunk << ": " << frame.status();
      ExpectFrame(*frame, e);
    }
    EXPECT_TRUE(cf::IsEndOfStream(reader.Read().status()));
    EXPECT_GT(io.faults(), 0);
    EXPECT_GT(io.polls(), 0);  // EAGAIN made it wait for readiness
  }
}

TEST(FrameIoTest, ScriptedShortWritesEintrAndEagain) {
  const std::string big = Pattern(70000, 1);
  for (size_t chunk : {1, 7, 24, 4096}) {
    ScriptedIo io("", chunk, /*eintr_every=*/2, /*eagain_every=*/5);
    cf::FrameWriter writer(100, {.io = &io});
    std::string head = "ab";
    absl::Span<const char> parts[] = {head, absl::Span<const char>(), big};
    ASSERT_TRUE(writer.WriteParts(cf::FrameKind::kResult, 9, parts).ok());
    ASSERT_TRUE(writer.Write(cf::FrameKind::kGoodbye, 10, "").ok());
    cf::ByteBuffer expected;
    cf::AppendFrame(cf::FrameKind::kResult, 9, absl::StrCat(head, big), &expected);
    cf::AppendFrame(cf::FrameKind::kGoodbye, 10, "", &expected);
    EXPECT_TRUE(io.output() == expected.view()) << "chunk " << chunk;
    EXPECT_GT(io.faults(), 0);
  }
}

}  // namespace
