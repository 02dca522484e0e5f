// Writes the frame fuzzer's seed corpus: valid streams of every frame kind, calls of every fuzz
// task (and batches), results, exceptions, and a few malformed streams.
//
//   bazel run //tests/serialization:make_fuzz_corpus -- $PWD/tests/serialization/fuzz_corpus
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "cf/core/errors.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/task.h"
#include "cf/serialization/value.h"
#include "cf/serialization/wire.h"
#include "tests/serialization/fuzz_tasks.h"

namespace {

std::string directory;
int written = 0;

// Writes mode byte + stream to "<directory>/<name>".
void Seed(const std::string& name, const cf::ByteBuffer& stream, std::uint8_t mode = 0x07) {
  std::ofstream out(directory + "/" + name, std::ios::binary);
  out.put(static_cast<char>(mode));
  out.write(stream.data(), static_cast<std::streamsize>(stream.size()));
  ++written;
}

cf::ByteBuffer Frame(cf::FrameKind kind, std::uint64_t id, absl::Span<const char> payload) {
  cf::ByteBuffer out;
  cf::AppendFrame(kind, id, payload, &out);
  return out;
}

cf::ByteBuffer CallAndReply(const cf::TaskCall& call, std::uint64_t id) {
  cf::ByteBuffer stream = Frame(cf::FrameKind::kCall, id, call.payload());
  cf::TaskOutcome outcome = cf::RunTaskCall(call.payload());
  cf::AppendFrame(outcome.kind, id, outcome.payload, &stream);
  return stream;
}

cf_fuzz::Tree SampleTree() {
  cf_fuzz::Tree tree{1, "root", {}};
  tree.children.push_back({2, "left", {}});
  tree.children.push_back({3, "right", {{4, "leaf", {}}}});
  return tree;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIRECTORY\n", argv[0]);
    return 1;
  }
  directory = argv[1];
  mkdir(directory.c_str(), 0755);

  Seed("call_strings", CallAndReply(cf::TaskCall(&cf_fuzz::Strings,
                                                 std::vector<std::string>{"a", "bc"},
                                                 std::map<std::int32_t, std::string>{{1, "x"}},
                                                 std::set<std::string>{"s", "t"}),
                                    1));
  Seed("call_variants",
       CallAndReply(cf::TaskCall(&cf_fuzz::Variants, std::make_tuple(3, 2.5, std::string("v")),
                                 std::optional<std::vector<std::int64_t>>(),
                                 cf_fuzz::Scalar(std::string("scalar"))),
                    2));
  auto shared = std::make_shared<std::int32_t>(5);
  Seed("call_pointers",
       CallAndReply(cf::TaskCall(&cf_fuzz::Pointers, shared, std::make_shared<std::string>("b"),
                                 std::make_unique<std::vector<std::int32_t>>(3, 1),
                                 std::make_pair(shared, std::weak_ptr<std::int32_t>(shared))),
                    3));
  Seed("call_trees", CallAndReply(cf::TaskCall(&cf_fuzz::Trees, SampleTree()), 4));
  std::bitset<70> bits;
  bits.set(69);
  Seed("call_containers",
       CallAndReply(
           cf::TaskCall(&cf_fuzz::Containers, std::deque<bool>{true, false},
                        std::vector<bool>{false, true, true}, std::list<std::u16string>{u"hi"},
                        std::array<std::int32_t, 3>{1, 2, 3}, bits,
                        std::unordered_map<std::string, std::vector<double>>{{"k", {1.5}}},
                        std::chrono::milliseconds(12), std::complex<float>(1, 2),
                        std::valarray<std::int32_t>{4, 5}, std::multiset<char>{'a', 'a'},
                        std::forward_list<std::int16_t>{7, -1}),
           5));
  for (std::int32_t code = 0; code < 8; ++code) {
    Seed(absl::StrFormat("call_throws_%d", code),
         CallAndReply(cf::TaskCall(&cf_fuzz::Throws, code), 10 + code));
  }
  Seed("call_nothing", CallAndReply(cf::TaskCall(&cf_fuzz::Nothing), 20));

  cf::TaskBatch batch(&cf_fuzz::Throws);
  for (std::int32_t i = 0; i < 16; i += 8) batch.Add(i);
  Seed("batch_throws", CallAndReply(std::move(batch).Finish(), 21));
  cf::TaskBatch trees(&cf_fuzz::Trees);
  trees.Add(SampleTree());
  trees.Add(cf_fuzz::Tree{9, "solo", {}});
  Seed("batch_trees", CallAndReply(std::move(trees).Finish(), 22));

  Seed("initialize", Frame(cf::FrameKind::kInitialize, 0,
                           cf::TaskCall(&cf_fuzz::Strings, std::vector<std::string>{},
                                        std::map<std::int32_t, std::string>{},
                                        std::set<std::string>{})
                               .payload()));
  cf::ByteBuffer control = Frame(cf::FrameKind::kHello, 0, cf::Encode(std::int64_t{1234}));
  control.Append(Frame(cf::FrameKind::kShutdown, 0, ""));
  control.Append(Frame(cf::FrameKind::kGoodbye, 0, ""));
  Seed("control", control);

  const std::vector<std::exception_ptr> errors = {
      std::make_exception_ptr(std::runtime_error("runtime")),
      std::make_exception_ptr(cf::BrokenProcessPool("pool")),
      std::make_exception_ptr(std::system_error(std::make_error_code(std::errc::io_error), "io")),
      std::make_exception_ptr(cf::RemoteError("x::Y", "remote")),
      std::make_exception_ptr(3.5)};
  for (size_t i = 0; i < errors.size(); ++i) {
    cf::ByteBuffer payload;
    cf::EncodeException(errors[i], "task", &payload);
    Seed(absl::StrFormat("exception_%d", i), Frame(cf::FrameKind::kException, 30 + i, payload));
  }

  // A stream of everything, in several chunkings.
  cf::ByteBuffer everything = CallAndReply(cf::TaskCall(&cf_fuzz::Throws, 1), 40);
  everything.Append(CallAndReply(cf::TaskCall(&cf_fuzz::Trees, SampleTree()), 41));
  everything.Append(control);
  Seed("stream_chunk_1", everything, 0x00);
  Seed("stream_chunk_5", everything, 0x04);
  Seed("stream_chunk_1000", everything, 0x7f);

  // Malformed.
  cf::ByteBuffer truncated = CallAndReply(cf::TaskCall(&cf_fuzz::Nothing), 50);
  truncated.ResizeUninitialized(truncated.size() - 3);
  Seed("malformed_truncated", truncated);
  cf::ByteBuffer bad_kind = Frame(cf::FrameKind::kCall, 1, "");
  bad_kind.data()[4] = 0x2a;
  Seed("malformed_kind", bad_kind);
  cf::ByteBuffer oversized = Frame(cf::FrameKind::kResult, 1, "");
  oversized.data()[19] = 0x01;  // payload size 2^24 > the fuzzer's 64 KiB limit
  Seed("malformed_oversized", oversized);
  Seed("malformed_garbage_payload",
       Frame(cf::FrameKind::kCall, 1, cf::Encode(std::string("cf_fuzz::Trees"),
                                                 std::uint64_t{1}, std::string("junk"))));
  Seed("malformed_unknown_task",
       Frame(cf::FrameKind::kCall, 1, cf::Encode(std::string("nope"), std::uint64_t{1})));

  std::printf("wrote %d seeds to %s\n", written, directory.c_str());
  return 0;
}
