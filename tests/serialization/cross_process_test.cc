// The whole component across a real process boundary: a forked child runs the worker's loop
// (read a kCall frame, RunTaskCall, write the outcome) and the parent checks results and
// exceptions, including the child's pid in them.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace remote {
struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Unregistered : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace remote
CF_EXCEPTION(remote::QuotaExceeded);

std::int64_t WorkerPid() { return getpid(); }
CF_TASK(WorkerPid);

std::vector<std::uint8_t> Echo(std::vector<std::uint8_t> bytes) { return bytes; }
CF_TASK(Echo);

int Explode(int kind) {
  if (kind == 0) throw remote::QuotaExceeded("quota of 3 exceeded");
  if (kind == 1) throw remote::Unregistered("not registered here");
  if (kind == 2) throw std::out_of_range("index 12");
  throw cf::TimeoutError();
}
CF_TASK(Explode);

long Sum(int a, int b) { return static_cast<long>(a) + b; }
CF_TASK(Sum);

namespace {

using ::testing::HasSubstr;

absl::Time Deadline() { return absl::Now() + absl::Seconds(60); }

// A worker process on the far side of two pipes.
class Worker {
 public:
  Worker() {
    int to_child[2];
    int from_child[2];
    EXPECT_EQ(pipe2(to_child, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(from_child, O_CLOEXEC), 0);
    (void)cf::EnlargePipeBuffer(to_child[1]);
    (void)cf::EnlargePipeBuffer(from_child[1]);
    pid_ = fork();
    if (pid_ == 0) {
      close(to_child[1]);
      close(from_child[0]);
      _exit(Loop(to_child[0], from_child[1]));
    }
    close(to_child[0]);
    close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    writer_ = std::make_unique<cf::FrameWriter>(to_child_);
    reader_ = std::make_unique<cf::FrameReader>(from_child_);
  }

  ~Worker() {
    close(to_child_);
    close(from_child_);
    if (pid_ > 0) {  // a test failed before Shutdown(): make sure the child goes away
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }

  // Sends a kCall frame with `payload` and returns the reply frame.
  cf::Frame Send(absl::Span<const char> payload, std::uint64_t id) {
    EXPECT_TRUE(writer_->Write(cf::FrameKind::kCall, id, payload, Deadline()).ok());
    absl::StatusOr<cf::Frame> reply = reader_->Read(Deadline());
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->task_id, id);
    return *std::move(reply);
  }
  cf::Frame Call(const cf::TaskCall& call, std::uint64_t id) { return Send(call.payload(), id); }

  // Kills the child; the parent's reader then sees the end of the stream.
  void KillAndExpectEndOfStream() {
    ASSERT_EQ(kill(pid_, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
    EXPECT_TRUE(WIFSIGNALED(status));
    pid_ = -1;
    absl::Status end = reader_->Read(Deadline()).status();
    EXPECT_TRUE(cf::IsEndOfStream(end)) << end;
    absl::Status write = writer_->Write(cf::FrameKind::kCall, 1, "x", Deadline());
    EXPECT_FALSE(write.ok());  // EPIPE, without SIGPIPE killing the test
  }

  void Shutdown() {
    ASSERT_TRUE(writer_->Write(cf::FrameKind::kShutdown, 0, "", Deadline()).ok());
    absl::StatusOr<cf::Frame> goodbye = reader_->Read(Deadline());
    ASSERT_TRUE(goodbye.ok()) << goodbye.status();
    EXPECT_EQ(goodbye->kind, cf::FrameKind::kGoodbye);
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid_ = -1;
  }

 private:
  // The worker's side; runs in the child.
  static int Loop(int in, int out) {
    cf::FrameReader reader(in);
    cf::FrameWriter writer(out);
    cf::Frame frame;
    cf::TaskOutcome outcome;
    while (true) {
      absl::Status status = reader.ReadInto(&frame);
      if (cf::IsEndOfStream(status)) return 0;
      if (!status.ok()) return 2;
      if (frame.kind == cf::FrameKind::kShutdown) {
        return writer.Write(cf::FrameKind::kGoodbye, 0, "").ok() ? 0 : 3;
      }
      cf::RunTaskCall(frame.payload, &outcome);
      if (!writer.Write(outcome.kind, frame.task_id, outcome.payload).ok()) return 4;
    }
  }

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::unique_ptr<cf::FrameWriter> writer_;
  std::unique_ptr<cf::FrameReader> reader_;
};

TEST(CrossProcessTest, ResultsComeBackFromAnotherProcess) {
  Worker worker;
  cf::Frame reply = worker.Call(cf::TaskCall(&WorkerPid), 1);
  ASSERT_EQ(reply.kind, cf::FrameKind::kResult);
  absl::StatusOr<std::int64_t> pid = cf::DecodeResult<std::int64_t>(reply.payload);
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(*pid, worker.pid());
  EXPECT_NE(*pid, getpid());

  reply = worker.Call(cf::TaskCall(&Sum, 40, 2), 2);
  EXPECT_EQ(*cf::DecodeResult<long>(reply.payload), 42);

  cf::TaskBatch batch(&Sum);
  for (int i = 0; i < 1000; ++i) batch.Add(i, i);
  reply = worker.Call(std::move(batch).Finish(), 3);
  absl::StatusOr<std::vector<long>> sums = cf::DecodeResults<long>(reply.payload, 1000);
  ASSERT_TRUE(sums.ok()) << sums.status();
  for (int i = 0; i < 1000; ++i) EXPECT_EQ((*sums)[i], 2 * i);
  worker.Shutdown();
}

TEST(CrossProcessTest, SixtyFourMegabyteEcho) {
  Worker worker;
  std::vector<std::uint8_t> bytes(size_t{64} << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i ^ (i >> 13));
  cf::Frame reply = worker.Call(cf::TaskCall(&Echo, bytes), 7);
  ASSERT_EQ(reply.kind, cf::FrameKind::kResult);
  absl::StatusOr<std::vector<std::uint8_t>> back =
      cf::DecodeResult<std::vector<std::uint8_t>>(reply.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == bytes);
  worker.Shutdown();
}

TEST(CrossProcessTest, ExceptionsComeBackAsThemselves) {
  Worker worker;
  cf::Frame reply = worker.Call(cf::TaskCall(&Explode, 0), 1);
  ASSERT_EQ(reply.kind, cf::FrameKind::kException);
  absl::StatusOr<cf::ExceptionInfo> info = cf::DecodeExceptionInfo(reply.payload);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pid, worker.pid());
  EXPECT_EQ(info->task_name, "Explode");
  EXPECT_THROW(std::rethrow_exception(*cf::DecodeException(reply.payload)), remote::QuotaExceeded);

  reply = worker.Call(cf::TaskCall(&Explode, 1), 2);
  try {
    std::rethrow_exception(*cf::DecodeException(reply.payload));
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "remote::Unregistered");
    EXPECT_STREQ(e.what(), "not registered here");
  }
  reply = worker.Call(cf::TaskCall(&Explode, 2), 3);
  EXPECT_THROW(std::rethrow_exception(*cf::DecodeException(reply.payload)), std::out_of_range);
  reply = worker.Call(cf::TaskCall(&Explode, 3), 4);
  EXPECT_THROW(std::rethrow_exception(*cf::DecodeException(reply.payload)), cf::TimeoutError);

  // A malformed call is answered with an exception; the channel still works afterwards.
  reply = worker.Send("\x03garbage", 5);
  ASSERT_EQ(reply.kind, cf::FrameKind::kException);
  EXPECT_EQ(cf::DecodeExceptionInfo(reply.payload)->type_name, "cf::SerializationError");
  reply = worker.Call(cf::TaskCall(&Sum, 1, 1), 6);
  EXPECT_EQ(*cf::DecodeResult<long>(reply.payload), 2);
  worker.Shutdown();
}

TEST(CrossProcessTest, WorkerDeathIsEndOfStreamNotAHang) {
  Worker worker;
  EXPECT_EQ(*cf::DecodeResult<long>(worker.Call(cf::TaskCall(&Sum, 1, 2), 1).payload), 3);
  worker.KillAndExpectEndOfStream();
}

}  // namespace
