// The task registry, TaskCall/TaskBatch encoding, RunTaskCall and the result decoders.
#include "cf/serialization/task.h"

#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/serialization/deep_value.h"
#include "tests/serialization/task_conflict.h"

// --- Tasks. ---

namespace {

struct Point {
  int x = 0;
  int y = 0;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(x, y);
  }
  friend bool operator==(const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; }
};

// Refuses to be decoded (an exception while decoding arguments).
struct RefusesLoad {
  template <class Archive>
  void save(Archive& archive) const {
    archive(std::int32_t{0});
  }
  template <class Archive>
  void load(Archive&) {
    throw std::domain_error("RefusesLoad: not today");
  }
};

// Refuses to be encoded (an exception while encoding a result or an argument).
struct RefusesSave {
  int value = 0;
  template <class Archive>
  void save(Archive&) const {
    throw std::length_error("RefusesSave: too long");
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(value);
  }
};

}  // namespace

int Square(int x) { return x * x; }
CF_TASK(Square);
CF_TASK(Square);  // the same function again: harmless

void Nothing() {}
CF_TASK(Nothing);

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}
CF_TASK(Join);

std::string Mutate(std::string& text) {  // a non-const reference gets the decoded local
  text += "!";
  return text;
}
CF_TASK(Mutate);

size_t Consume(std::string&& text) { return std::move(text).size(); }
CF_TASK(Consume);

double Halve(double x) noexcept { return x / 2; }
CF_TASK(Halve);

std::unique_ptr<int> Increment(std::unique_ptr<int> p) {
  if (p) ++*p;
  return p;
}
CF_TASK(Increment);

const std::string& Greeting() {
  static const std::string* const greeting = new std::string("hello");
  return *greeting;
}
CF_TASK(Greeting);

Point Translate(Point p, int dx, int dy) { return {p.x + dx, p.y + dy}; }
CF_TASK(Translate);

std::string Many(int a, double b, std::string c, std::vector<int> d, std::map<int, std::string> e,
                 std::optional<int> f, std::tuple<bool, char> g,
                 std::variant<int, std::string> h) {
  return std::to_string(a) + "|" + std::to_string(b) + "|" + c + "|" + std::to_string(d.size()) +
         "|" + e[1] + "|" + (f ? std::to_string(*f) : "none") + "|" +
         (std::get<0>(g) ? "t" : "f") + std::get<1>(g) + "|" + std::get<std::string>(h);
}
CF_TASK(Many);

template <typename T>
T Twice(T x) {
  return x + x;
}
CF_TASK(Twice<int>);
CF_TASK(Twice<std::string>);

int Fail(int code) {
  if (code == 1) throw std::runtime_error("runtime failure");
  if (code == 2) throw cf::BrokenProcessPool("nested pool broke");
  if (code == 3) throw 42;  // not a std::exception
  return code;
}
CF_TASK(Fail);

int TakesRefusesLoad(RefusesLoad) { return 1; }
CF_TASK(TakesRefusesLoad);

RefusesSave MakesRefusesSave(int value) { return RefusesSave{value}; }
CF_TASK(MakesRefusesSave);

int TakesRefusesSave(RefusesSave) { return 0; }
CF_TASK(TakesRefusesSave);

int DeepArgument(cf_test::Deep value) { return value.depth; }
CF_TASK(DeepArgument);

cf_test::Deep DeepResult(int depth) { return cf_test::Deep{depth}; }
CF_TASK(DeepResult);

std::int64_t Pid() { return getpid(); }
CF_TASK(Pid);

std::string global_greeting;
void SetGreeting(std::string text) { global_greeting = std::move(text); }
CF_TASK(SetGreeting);

namespace ns {
int Square(int x) { return -x * x; }
CF_TASK(ns::Square);
}  // namespace ns

int NotRegistered(int x) { return x; }

namespace {

using ::testing::HasSubstr;

static_assert(std::is_same_v<cf::TaskResult<decltype(&Square)>, int>);
static_assert(std::is_same_v<cf::TaskResult<decltype(&Greeting)>, std::string>);
static_assert(std::is_same_v<cf::TaskResult<decltype(&Nothing)>, void>);
static_assert(std::is_same_v<cf::TaskResult<decltype(&Halve)>, double>);
static_assert(std::is_same_v<cf::ResultValue<void>, std::monostate>);

// Runs `call` the way a worker would and returns the outcome.
cf::TaskOutcome RunCall(const cf::TaskCall& call) { return cf::RunTaskCall(call.payload()); }

template <typename R>
cf::ResultValue<R> RunAndDecode(const cf::TaskCall& call) {
  cf::TaskOutcome outcome = RunCall(call);
  EXPECT_EQ(outcome.kind, cf::FrameKind::kResult);
  if (outcome.kind != cf::FrameKind::kResult) {
    auto info = cf::DecodeExceptionInfo(outcome.payload);
    ADD_FAILURE() << (info.ok() ? info->type_name + ": " + info->message
                                : std::string(info.status().message()));
    return {};
  }
  absl::StatusOr<cf::ResultValue<R>> result = cf::DecodeResult<R>(outcome.payload);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : cf::ResultValue<R>{};
}

// The exception a kException outcome carries, rethrown.
void RethrowOutcome(const cf::TaskOutcome& outcome) {
  ASSERT_EQ(outcome.kind, cf::FrameKind::kException);
  absl::StatusOr<std::exception_ptr> error = cf::DecodeException(outcome.payload);
  ASSERT_TRUE(error.ok()) << error.status();
  std::rethrow_exception(*error);
}

cf::ExceptionInfo OutcomeInfo(const cf::TaskOutcome& outcome) {
  EXPECT_EQ(outcome.kind, cf::FrameKind::kException);
  absl::StatusOr<cf::ExceptionInfo> info = cf::DecodeExceptionInfo(outcome.payload);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? *info : cf::ExceptionInfo{};
}

// --- The registry. ---

TEST(TaskRegistryTest, NamesAreTheMacroArguments) {
  EXPECT_EQ(*cf::TaskName(&Square), "Square");
  EXPECT_EQ(*cf::TaskName(&ns::Square), "ns::Square");
  EXPECT_EQ(*cf::TaskName(&Twice<int>), "Twice<int>");
  EXPECT_EQ(*cf::TaskName(&Twice<std::string>), "Twice<std::string>");
  EXPECT_EQ(*cf::TaskName(&Halve), "Halve");
  std::vector<std::string> names = cf::RegisteredTaskNames();
  for (const char* name : {"Square", "ns::Square", "Nothing", "Join", "Many", "Twin"}) {
    EXPECT_THAT(names, ::testing::Contains(name));
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_TRUE(cf::IsRegisteredTask(&Square));
  EXPECT_FALSE(cf::IsRegisteredTask(&NotRegistered));
}

TEST(TaskRegistryTest, UnregisteredFunctionsNameCfTask) {
  absl::StatusOr<std::string> name = cf::TaskName(&NotRegistered);
  EXPECT_EQ(name.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(name.status().message()), HasSubstr("CF_TASK"));
  try {
    cf::TaskCall call(&NotRegistered, 1);
    FAIL() << "TaskCall accepted an unregistered function";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not a registered task"));
    EXPECT_THAT(e.what(), HasSubstr("CF_TASK("));
    EXPECT_THAT(e.what(), HasSubstr("alwayslink"));
  }
  EXPECT_THROW(cf::TaskBatch batch(&NotRegistered), std::invalid_argument);
}

TEST(TaskRegistryTest, DuplicateNameIsReportedEverywhere) {
  // task_conflict_a.cc and task_conflict_b.cc both register a different "Twin".
  absl::Status status = cf::CheckTaskRegistry();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"Twin\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr("task_conflict_a.cc:8"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("task_conflict_b.cc:8"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("Square")));

  EXPECT_EQ(cf::TaskName(&conflict_a::Twin).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cf::TaskName(&conflict_b::Twin).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(cf::IsRegisteredTask(&conflict_a::Twin));
  try {
    cf::TaskCall call(&conflict_b::Twin, 1);
    FAIL() << "TaskCall accepted a conflicting name";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("registered for different functions"));
  }
  // A worker asked to run "Twin" refuses too.
  cf::ByteBuffer payload = cf::Encode(std::string("Twin"), std::uint64_t{1}, 5);
  cf::ExceptionInfo info = OutcomeInfo(cf::RunTaskCall(payload));
  EXPECT_EQ(info.type_name, "std::invalid_argument");
  EXPECT_THAT(info.message, HasSubstr("registered for different functions"));
}

TEST(TaskRegistryTest, ConflictIsPrintedWhenRegistered) {
  cf::internal::TaskRegistry registry;
  auto a = reinterpret_cast<cf::internal::ErasedFunction>(&Square);
  auto b = reinterpret_cast<cf::internal::ErasedFunction>(&ns::Square);
  registry.Add({"Same", a, nullptr, "a.cc:1"});
  registry.Add({"Same", a, nullptr, "a.cc:1"});  // idempotent
  EXPECT_TRUE(registry.status().ok());
  ::testing::internal::CaptureStderr();
  registry.Add({"Same", b, nullptr, "b.cc:2"});
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(printed, HasSubstr("CF_TASK name \"Same\" is registered for different functions"));
  EXPECT_THAT(printed, HasSubstr("a.cc:1"));
  EXPECT_THAT(printed, HasSubstr("b.cc:2"));
  EXPECT_EQ(registry.FindByName("Same").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.FindByFunction(b).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.FindByName("Other").status().code(), absl::StatusCode::kNotFound);
  // One function under two names is fine; the function maps to its first name.
  registry.Add({"Alias", reinterpret_cast<cf::internal::ErasedFunction>(&Join), nullptr, "c"});
  registry.Add({"Alias2", reinterpret_cast<cf::internal::ErasedFunction>(&Join), nullptr, "d"});
  EXPECT_EQ((*registry.FindByFunction(
                 reinterpret_cast<cf::internal::ErasedFunction>(&Join)))->name,
            "Alias");
  EXPECT_TRUE(registry.FindByName("Alias2").ok());
}

TEST(TaskRegistryTest, ConcurrentLookupsAndRegistrations) {
  cf::internal::TaskRegistry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry, t] {
      for (int i = 0; i < 200; ++i) {
        registry.Add({"task" + std::to_string(t * 1000 + i),
                      reinterpret_cast<cf::internal::ErasedFunction>(&Square), nullptr, "x"},
                     /*report=*/false);
        (void)registry.FindByName("task" + std::to_string(i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(registry.Names().size(), 800u);
}

// --- Calls. ---

TEST(TaskCallTest, EmptyCallMeansNoCall) {
  cf::TaskCall call;
  EXPECT_TRUE(call.empty());
  EXPECT_FALSE(call);
  EXPECT_EQ(call.call_count(), 0u);
  cf::TaskCall initializer(&SetGreeting, "arg");  // as a ProcessPoolExecutor initializer
  EXPECT_TRUE(initializer);
  EXPECT_EQ(initializer.task_name(), "SetGreeting");
  EXPECT_EQ(initializer.call_count(), 1u);
  cf::TaskCall copy = initializer;  // copyable, like Options
  EXPECT_TRUE(cf::RunTaskCall(copy.payload()).kind == cf::FrameKind::kResult);
  EXPECT_EQ(global_greeting, "arg");
}

TEST(TaskCallTest, SignaturesRoundTrip) {
  EXPECT_EQ(RunAndDecode<int>(cf::TaskCall(&Square, 7)), 49);
  EXPECT_EQ(RunAndDecode<int>(cf::TaskCall(&ns::Square, 7)), -49);
  EXPECT_EQ(RunAndDecode<int>(cf::TaskCall(Square, 3)), 9);  // a function, not a pointer
  RunAndDecode<void>(cf::TaskCall(&Nothing));
  EXPECT_EQ(RunAndDecode<std::string>(
                cf::TaskCall(&Join, std::vector<std::string>{"a", "b", "c"}, "-")),
            "a-b-c");
  EXPECT_EQ(RunAndDecode<std::string>(cf::TaskCall(&Mutate, "wow")), "wow!");
  EXPECT_EQ(RunAndDecode<size_t>(cf::TaskCall(&Consume, std::string(10, 'x'))), 10u);
  EXPECT_EQ(RunAndDecode<double>(cf::TaskCall(&Halve, 5)), 2.5);  // int → double
  std::unique_ptr<int> incremented =
      RunAndDecode<std::unique_ptr<int>>(cf::TaskCall(&Increment, std::make_unique<int>(41)));
  ASSERT_NE(incremented, nullptr);
  EXPECT_EQ(*incremented, 42);
  EXPECT_EQ(RunAndDecode<std::string>(cf::TaskCall(&Greeting)), "hello");
  EXPECT_EQ(RunAndDecode<Point>(cf::TaskCall(&Translate, Point{1, 2}, 10, 20)), (Point{11, 22}));
  EXPECT_EQ(RunAndDecode<int>(cf::TaskCall(&Twice<int>, 21)), 42);
  EXPECT_EQ(RunAndDecode<std::string>(cf::TaskCall(&Twice<std::string>, "ab")), "abab");
  EXPECT_EQ(RunAndDecode<std::string>(
                cf::TaskCall(&Many, 1, 2.5, "c", std::vector<int>{1, 2}, std::map<int, std::string>{{1, "e"}},
                             std::optional<int>(6), std::make_tuple(true, 'g'),
                             std::variant<int, std::string>("h"))),
            "1|2.500000|c|2|e|6|tg|h");
  EXPECT_EQ(RunAndDecode<std::int64_t>(cf::TaskCall(&Pid)), getpid());
}

TEST(TaskCallTest, LargeArgumentsAndResults) {
  const std::string big(size_t{64} << 20, 'b');
  EXPECT_EQ(RunAndDecode<size_t>(cf::TaskCall(&Consume, big)), big.size());
  EXPECT_EQ(RunAndDecode<std::string>(cf::TaskCall(&Twice<std::string>, std::string(1 << 20, 'z'))),
            std::string(2 << 20, 'z'));
}

TEST(TaskCallTest, OutcomeBufferIsReused) {
  cf::TaskOutcome outcome;
  cf::RunTaskCall(cf::TaskCall(&Twice<std::string>, std::string(100000, 'x')).payload(), &outcome);
  const size_t capacity = outcome.payload.capacity();
  cf::RunTaskCall(cf::TaskCall(&Square, 2).payload(), &outcome);
  EXPECT_EQ(outcome.kind, cf::FrameKind::kResult);
  EXPECT_EQ(outcome.task_name, "Square");
  EXPECT_EQ(outcome.payload.capacity(), capacity);
  EXPECT_EQ(*cf::DecodeResult<int>(outcome.payload), 4);
}

// --- Batches. ---

TEST(TaskBatchTest, ManyCallsInOnePayload) {
  cf::TaskBatch batch(&Square);
  EXPECT_TRUE(batch.empty());
  for (int i = 0; i < 1000; ++i) batch.Add(i);
  EXPECT_EQ(batch.size(), 1000u);
  cf::TaskCall call = std::move(batch).Finish();
  EXPECT_EQ(call.call_count(), 1000u);
  cf::TaskOutcome outcome = RunCall(call);
  ASSERT_EQ(outcome.kind, cf::FrameKind::kResult);
  absl::StatusOr<std::vector<int>> results = cf::DecodeResults<int>(outcome.payload, 1000);
  ASSERT_TRUE(results.ok()) << results.status();
  for (int i = 0; i < 1000; ++i) EXPECT_EQ((*results)[i], i * i);
  // The count is checked.
  EXPECT_EQ(cf::DecodeResults<int>(outcome.payload, 999).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(TaskBatchTest, TuplesAndVoidResults) {
  cf::TaskBatch batch(&Join);
  batch.AddTuple(std::make_tuple(std::vector<std::string>{"a", "b"}, std::string("+")));
  batch.AddTuple(std::make_tuple(std::vector<std::string>{"c"}, "-"));
  absl::StatusOr<std::vector<std::string>> results =
      cf::DecodeResults<std::string>(RunCall(std::move(batch).Finish()).payload, 2);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(*results, (std::vector<std::string>{"a+b", "c"}));

  cf::TaskBatch greetings(&SetGreeting);
  greetings.Add("one");
  greetings.Add("two");
  absl::StatusOr<std::vector<std::monostate>> voids =
      cf::DecodeResults<void>(RunCall(std::move(greetings).Finish()).payload, 2);
  ASSERT_TRUE(voids.ok()) << voids.status();
  EXPECT_EQ(voids->size(), 2u);
  EXPECT_EQ(global_greeting, "two");
}

TEST(TaskBatchTest, AnExceptionFailsTheWholeBatch) {
  cf::TaskBatch batch(&Fail);
  batch.Add(5);
  batch.Add(1);  // throws
  batch.Add(6);
  cf::TaskOutcome outcome = RunCall(std::move(batch).Finish());
  EXPECT_THROW(RethrowOutcome(outcome), std::runtime_error);
  EXPECT_EQ(OutcomeInfo(outcome).task_name, "Fail");
}

TEST(TaskBatchTest, CallsWithoutArgumentBytesCannotBeBatched) {
  cf::TaskBatch batch(&Nothing);
  batch.Add();
  EXPECT_THROW(batch.Add(), std::invalid_argument);
  EXPECT_EQ(batch.size(), 1u);  // the failed Add left it unchanged
  EXPECT_EQ(RunCall(std::move(batch).Finish()).kind, cf::FrameKind::kResult);
}

TEST(TaskBatchTest, FailedArgumentEncodingLeavesTheBatchUnchanged) {
  cf::TaskBatch batch(&TakesRefusesSave);
  EXPECT_THROW(batch.Add(RefusesSave{1}), std::length_error);
  EXPECT_EQ(batch.size(), 0u);
  cf::TaskCall call = std::move(batch).Finish();
  absl::StatusOr<std::vector<int>> results = cf::DecodeResults<int>(RunCall(call).payload, 0);
  EXPECT_TRUE(results.ok()) << results.status();
}

// --- Exceptions on each path. ---

TEST(TaskExceptionTest, ExceptionInTheTask) {
  cf::TaskOutcome outcome = RunCall(cf::TaskCall(&Fail, 1));
  try {
    RethrowOutcome(outcome);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "runtime failure");
  }
  cf::ExceptionInfo info = OutcomeInfo(outcome);
  EXPECT_EQ(info.pid, getpid());
  EXPECT_EQ(info.task_name, "Fail");
  EXPECT_EQ(info.type_name, "std::runtime_error");
  EXPECT_THROW(RethrowOutcome(RunCall(cf::TaskCall(&Fail, 2))), cf::BrokenProcessPool);
  try {
    RethrowOutcome(RunCall(cf::TaskCall(&Fail, 3)));
    FAIL();
  } catch (const cf::RemoteError& e) {
    EXPECT_STREQ(e.what(), "unknown exception");
    EXPECT_EQ(e.type_name(), "int");
  }
}

TEST(TaskExceptionTest, ExceptionWhileDecodingArguments) {
  cf::TaskOutcome outcome = RunCall(cf::TaskCall(&TakesRefusesLoad, RefusesLoad()));
  try {
    RethrowOutcome(outcome);
    FAIL();
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "RefusesLoad: not today");
  }
}

TEST(TaskExceptionTest, ExceptionWhileEncodingTheResultLeavesTheChannelUsable) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  cf::FrameWriter writer(fds[1]);
  cf::FrameReader reader(fds[0]);
  cf::TaskOutcome outcome;
  // The worker's loop: run, send the outcome; twice.
  cf::RunTaskCall(cf::TaskCall(&MakesRefusesSave, 3).payload(), &outcome);
  ASSERT_TRUE(writer.Write(outcome.kind, 1, outcome.payload).ok());
  cf::RunTaskCall(cf::TaskCall(&Square, 9).payload(), &outcome);
  ASSERT_TRUE(writer.Write(outcome.kind, 2, outcome.payload).ok());

  absl::StatusOr<cf::Frame> first = reader.Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->kind, cf::FrameKind::kException);
  EXPECT_EQ(first->task_id, 1u);
  absl::StatusOr<std::exception_ptr> error = cf::DecodeException(first->payload);
  ASSERT_TRUE(error.ok());
  EXPECT_THROW(std::rethrow_exception(*error), std::length_error);

  absl::StatusOr<cf::Frame> second = reader.Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->kind, cf::FrameKind::kResult);
  EXPECT_EQ(*cf::DecodeResult<int>(second->payload), 81);
  close(fds[0]);
  close(fds[1]);
}

TEST(TaskExceptionTest, ExceptionWhileEncodingArgumentsIsThrownBySubmit) {
  EXPECT_THROW(cf::TaskCall(&TakesRefusesSave, RefusesSave{1}), std::length_error);
}

// Deep{n} nests n + 1 values; the decoder refuses more than kMaxDepth, and so does the encoder.
constexpr int kMaxDepth = cf::internal::WireInputArchive::kMaxDepth;
const std::string kTooDeep =
    "payload nests values deeper than " + std::to_string(kMaxDepth) + " levels";

TEST(TaskExceptionTest, TooDeepArgumentIsASerializationErrorAtSubmit) {
  try {
    cf::TaskCall call(&DeepArgument, cf_test::Deep{100'000});
    FAIL() << "TaskCall encoded 100,001 nested values";
  } catch (const cf::SerializationError& e) {
    EXPECT_EQ(e.what(), kTooDeep);
  }
  cf::TaskBatch batch(&DeepArgument);
  batch.Add(cf_test::Deep{1});
  EXPECT_THROW(batch.Add(cf_test::Deep{kMaxDepth}), cf::SerializationError);
  EXPECT_EQ(batch.size(), 1u);
  batch.Add(cf_test::Deep{kMaxDepth - 1});  // exactly the limit
  cf::TaskOutcome outcome = RunCall(std::move(batch).Finish());
  ASSERT_EQ(outcome.kind, cf::FrameKind::kResult);
  absl::StatusOr<std::vector<int>> results = cf::DecodeResults<int>(outcome.payload, 2);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(*results, (std::vector<int>{1, kMaxDepth - 1}));
}

TEST(TaskExceptionTest, TooDeepResultIsTheCallsSerializationError) {
  cf::TaskOutcome outcome = RunCall(cf::TaskCall(&DeepResult, 100'000));
  cf::ExceptionInfo info = OutcomeInfo(outcome);
  EXPECT_EQ(info.type_name, "cf::SerializationError");
  EXPECT_EQ(info.message, kTooDeep);
  EXPECT_EQ(info.task_name, "DeepResult");
  EXPECT_THROW(RethrowOutcome(outcome), cf::SerializationError);
  EXPECT_EQ(RunAndDecode<cf_test::Deep>(cf::TaskCall(&DeepResult, kMaxDepth - 1)).depth,
            kMaxDepth - 1);
  EXPECT_EQ(OutcomeInfo(RunCall(cf::TaskCall(&DeepResult, kMaxDepth))).message, kTooDeep);
}

// --- Malformed call payloads become exceptions, never crashes. ---

TEST(TaskMalformedTest, UnknownTaskName) {
  cf::ByteBuffer payload = cf::Encode(std::string("NoSuchTask"), std::uint64_t{1});
  cf::TaskOutcome outcome = cf::RunTaskCall(payload);
  cf::ExceptionInfo info = OutcomeInfo(outcome);
  EXPECT_EQ(info.type_name, "std::invalid_argument");
  EXPECT_THAT(info.message, HasSubstr("task \"NoSuchTask\" is not registered in process"));
  EXPECT_THAT(info.message, HasSubstr("CF_TASK(NoSuchTask)"));
  EXPECT_EQ(info.task_name, "NoSuchTask");
}

TEST(TaskMalformedTest, EveryTruncationOfACallIsASerializationError) {
  cf::TaskCall call(&Join, std::vector<std::string>{"ab", "cd"}, "sep");
  absl::Span<const char> payload = call.payload();
  for (size_t size = 0; size < payload.size(); ++size) {
    cf::TaskOutcome outcome = cf::RunTaskCall(payload.subspan(0, size));
    cf::ExceptionInfo info = OutcomeInfo(outcome);
    EXPECT_TRUE(info.type_name == "cf::SerializationError" ||
                info.type_name == "std::invalid_argument")  // the name itself was cut
        << size << ": " << info.type_name << ": " << info.message;
  }
}

TEST(TaskMalformedTest, TrailingBytesAndImpossibleCounts) {
  cf::TaskCall call(&Square, 3);
  cf::ByteBuffer trailing(call.payload());
  trailing.Append("x", 1);
  cf::ExceptionInfo info = OutcomeInfo(cf::RunTaskCall(trailing));
  EXPECT_EQ(info.type_name, "cf::SerializationError");
  EXPECT_THAT(info.message, HasSubstr("unexpected bytes"));

  cf::ByteBuffer huge = cf::Encode(std::string("Nothing"), std::uint64_t{1} << 40);
  info = OutcomeInfo(cf::RunTaskCall(huge));
  EXPECT_EQ(info.type_name, "cf::SerializationError");
  EXPECT_THAT(info.message, HasSubstr("a call batch of 1099511627776 calls"));
}

TEST(TaskMalformedTest, GarbageCallPayloads) {
  std::uint64_t state = 99;
  for (int round = 0; round < 3000; ++round) {
    std::string garbage(static_cast<size_t>(round % 50), '\0');
    for (char& c : garbage) {
      state = state * 6364136223846793005 + 1442695040888963407;
      c = static_cast<char>(state >> 56);
    }
    if (round % 2 == 0) {  // a valid task name, then garbage arguments
      cf::ByteBuffer prefix = cf::Encode(std::string("Many"), std::uint64_t{1});
      prefix.Append(garbage);
      garbage = std::string(prefix.view());
    }
    cf::TaskOutcome outcome = cf::RunTaskCall(garbage);
    if (outcome.kind == cf::FrameKind::kException) {
      EXPECT_TRUE(cf::DecodeExceptionInfo(outcome.payload).ok());
    }
  }
}

TEST(TaskMalformedTest, MalformedResultsAreDataLoss) {
  cf::TaskOutcome outcome = RunCall(cf::TaskCall(&Join, std::vector<std::string>{"x"}, ","));
  for (size_t size = 0; size < outcome.payload.size(); ++size) {
    EXPECT_EQ(cf::DecodeResult<std::string>(outcome.payload.span().subspan(0, size))
                  .status()
                  .code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(cf::DecodeResult<void>(cf::Encode(std::uint64_t{2})).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(cf::DecodeResult<RefusesLoad>(cf::Encode(std::uint64_t{1}, std::int32_t{0}))
                .status()
                .code(),
            absl::StatusCode::kUnknown);
}

}  // namespace
