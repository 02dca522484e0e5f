// Round trips of every kind of value through cf::Encode / cf::Decode, and malformed inputs.
#include "cf/serialization/value.h"

#include <array>
#include <atomic>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <forward_list>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <stack>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <valarray>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cereal/archives/binary.hpp"
#include "cf/serialization/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/serialization/deep_value.h"

namespace {

using ::testing::HasSubstr;

// --- User types, in each style cereal supports. ---

struct Point {
  int x = 0;
  double y = 0;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(x, y);
  }
  friend bool operator==(const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; }
};

struct Labelled {  // free serialize()
  std::string label;
  std::vector<Point> points;
  friend bool operator==(const Labelled& a, const Labelled& b) {
    return a.label == b.label && a.points == b.points;
  }
};
template <class Archive>
void serialize(Archive& archive, Labelled& value) {
  archive(value.label, value.points);
}

class Split {  // save()/load() members, private, via cereal::access
 public:
  Split() = default;
  explicit Split(std::string text) : text_(std::move(text)) {}
  const std::string& text() const { return text_; }
  friend bool operator==(const Split& a, const Split& b) { return a.text_ == b.text_; }

 private:
  friend class cereal::access;
  template <class Archive>
  void save(Archive& archive) const {
    archive(text_, static_cast<std::uint32_t>(text_.size()));
  }
  template <class Archive>
  void load(Archive& archive) {
    std::uint32_t size = 0;
    archive(text_, size);
    if (size != text_.size()) throw std::logic_error("Split: size mismatch");
  }
  std::string text_;
};

enum class Color : std::uint8_t { kRed = 1, kGreen = 2 };
enum Plain { kPlainA = 7, kPlainB = 9 };

struct NotSerializable {
  int x = 0;
};

struct ThrowsOnLoad {
  template <class Archive>
  void save(Archive& archive) const {
    archive(std::int32_t{1});
  }
  template <class Archive>
  void load(Archive& archive) {
    std::int32_t v = 0;
    archive(v);
    throw std::out_of_range("ThrowsOnLoad refused");
  }
};

struct Node {  // recursive
  std::unique_ptr<Node> next;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(next);
  }
};

struct SharedNode {  // recursive through std::shared_ptr
  std::shared_ptr<SharedNode> next;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(next);
  }
};

struct Tree {  // recursive through std::vector
  std::vector<Tree> children;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(children);
  }
};

using cf_test::Deep;

// --- Helpers. ---

template <typename T>
T RoundTrip(const T& value) {
  cf::ByteBuffer bytes = cf::Encode(value);
  absl::StatusOr<T> back = cf::Decode<T>(bytes);
  EXPECT_TRUE(back.ok()) << back.status();
  if (!back.ok()) return T{};
  return *std::move(back);
}

template <typename T>
void ExpectRoundTrip(const T& value) {
  EXPECT_TRUE(RoundTrip(value) == value);
}

// The bytes cereal's own BinaryOutputArchive writes for `value`: cf's format, but without cf's
// nesting limit. For payloads cf's encoder refuses to make.
template <typename T>
std::string EncodeWithoutLimit(const T& value) {
  std::ostringstream out;
  {
    cereal::BinaryOutputArchive archive(out);
    archive(value);
  }
  return out.str();
}

// What cf::Encode(value) threw: the SerializationError's message, or a description of what
// happened instead.
template <typename T>
std::string EncodeError(const T& value) {
  try {
    cf::Encode(value);
    return "(encoded)";
  } catch (const cf::SerializationError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(threw another exception) ") + e.what();
  }
}

constexpr int kMaxDepth = cf::internal::WireInputArchive::kMaxDepth;
const std::string kTooDeep =
    "payload nests values deeper than " + std::to_string(kMaxDepth) + " levels";

// --- Compile-time serializability. ---

static_assert(cf::kIsSerializable<int>);
static_assert(cf::kIsSerializable<const std::string&>);
static_assert(cf::kIsSerializable<std::map<std::string, std::vector<std::optional<int>>>>);
static_assert(cf::kIsSerializable<Point>);
static_assert(cf::kIsSerializable<Labelled>);
static_assert(cf::kIsSerializable<Split>);
static_assert(cf::kIsSerializable<Color>);
static_assert(cf::kIsSerializable<std::unique_ptr<Point>>);
static_assert(!cf::kIsSerializable<int*>);
static_assert(!cf::kIsSerializable<NotSerializable>);
static_assert(!cf::kIsSerializable<std::vector<NotSerializable>>);
static_assert(!cf::kIsSerializable<std::function<void()>>);

// --- Arithmetic types. ---

template <typename T>
class ArithmeticTest : public ::testing::Test {};
using ArithmeticTypes =
    ::testing::Types<bool, char, signed char, unsigned char, wchar_t, char16_t, char32_t,
                     std::int8_t, std::uint8_t, std::int16_t, std::uint16_t, std::int32_t,
                     std::uint32_t, std::int64_t, std::uint64_t, float, double, long double>;
TYPED_TEST_SUITE(ArithmeticTest, ArithmeticTypes);

TYPED_TEST(ArithmeticTest, ExtremesRoundTrip) {
  using T = TypeParam;
  ExpectRoundTrip(std::numeric_limits<T>::min());
  ExpectRoundTrip(std::numeric_limits<T>::max());
  ExpectRoundTrip(std::numeric_limits<T>::lowest());
  ExpectRoundTrip(T{});
  EXPECT_EQ(cf::Encode(T{}).size(), sizeof(T));
}

TEST(ValueTest, FloatingSpecialsRoundTrip) {
  EXPECT_TRUE(std::isnan(RoundTrip(std::numeric_limits<double>::quiet_NaN())));
  ExpectRoundTrip(std::numeric_limits<double>::infinity());
  ExpectRoundTrip(-0.0);
  ExpectRoundTrip(std::numeric_limits<float>::denorm_min());
}

TEST(ValueTest, EnumsRoundTrip) {
  ExpectRoundTrip(Color::kGreen);
  ExpectRoundTrip(kPlainB);
}

// --- Strings. ---

TEST(ValueTest, StringsRoundTrip) {
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(std::string("hello"));
  ExpectRoundTrip(std::string("with\0nul\0bytes", 14));
  ExpectRoundTrip(std::string(1 << 20, 'x'));
  ExpectRoundTrip(std::wstring(L"wide ☃"));
  ExpectRoundTrip(std::u16string(u"utf-16 ☃"));
  ExpectRoundTrip(std::u32string(U"utf-32 ☃"));
}

// --- Standard containers. ---

TEST(ValueTest, SequenceContainersRoundTrip) {
  ExpectRoundTrip(std::vector<int>{});
  ExpectRoundTrip(std::vector<int>{1, -2, 3});
  ExpectRoundTrip(std::vector<std::string>{"a", "", "ccc"});
  ExpectRoundTrip(std::vector<bool>{true, false, true, true});
  ExpectRoundTrip(std::deque<double>{1.5, 2.5});
  ExpectRoundTrip(std::list<std::string>{"x", "y"});
  ExpectRoundTrip(std::forward_list<int>{3, 2, 1});
  ExpectRoundTrip(std::array<int, 5>{1, 2, 3, 4, 5});
  ExpectRoundTrip(std::array<std::string, 2>{"p", "q"});
  ExpectRoundTrip(std::vector<std::vector<int>>{{1}, {}, {2, 3}});
}

TEST(ValueTest, AssociativeContainersRoundTrip) {
  ExpectRoundTrip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  ExpectRoundTrip(std::multimap<int, int>{{1, 1}, {1, 2}, {0, 3}, {1, 3}});  // order of equals
  ExpectRoundTrip(std::multimap<std::string, int>{{"k", 3}, {"k", 1}, {"k", 2}});
  ExpectRoundTrip(std::unordered_map<int, std::string>{{1, "one"}, {2, "two"}});
  ExpectRoundTrip(std::unordered_multimap<int, int>{{5, 1}, {5, 1}});
  ExpectRoundTrip(std::set<std::string>{"z", "a"});
  ExpectRoundTrip(std::multiset<int>{1, 1, 2});
  ExpectRoundTrip(std::unordered_set<long>{10, 20, 30});
  ExpectRoundTrip(std::unordered_multiset<int>{4, 4});
}

TEST(ValueTest, AdaptorsRoundTrip) {
  std::stack<int> stack;
  stack.push(1);
  stack.push(2);
  ExpectRoundTrip(stack);
  std::queue<std::string> queue;
  queue.push("first");
  queue.push("second");
  ExpectRoundTrip(queue);
  std::priority_queue<int> heap;
  for (int v : {5, 1, 9, 3}) heap.push(v);
  std::priority_queue<int> back = RoundTrip(heap);
  ASSERT_EQ(back.size(), 4u);
  for (int expected : {9, 5, 3, 1}) {
    EXPECT_EQ(back.top(), expected);
    back.pop();
  }
}

TEST(ValueTest, ValarrayAndBitsetRoundTrip) {
  std::valarray<double> values = {1.0, 2.0, 3.5};
  std::valarray<double> back = RoundTrip(values);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[2], 3.5);
  EXPECT_EQ(RoundTrip(std::valarray<int>()).size(), 0u);  // cereal's own code takes &v[0] here
  std::valarray<std::string> strings = {"a", "bc"};
  std::valarray<std::string> strings_back = RoundTrip(strings);
  ASSERT_EQ(strings_back.size(), 2u);
  EXPECT_EQ(strings_back[1], "bc");
  std::bitset<100> bits;
  bits.set(0);
  bits.set(63);
  bits.set(99);
  ExpectRoundTrip(bits);
}

// --- Vocabulary types. ---

TEST(ValueTest, OptionalVariantTuplePairRoundTrip) {
  ExpectRoundTrip(std::optional<int>());
  ExpectRoundTrip(std::optional<std::string>("set"));
  using V = std::variant<std::monostate, int, std::string, std::vector<double>>;
  ExpectRoundTrip(V());
  ExpectRoundTrip(V(42));
  ExpectRoundTrip(V(std::string("text")));
  ExpectRoundTrip(V(std::vector<double>{1.0, 2.0}));
  ExpectRoundTrip(std::tuple<int, std::string, bool>(1, "two", true));
  ExpectRoundTrip(std::tuple<>());
  ExpectRoundTrip(std::pair<std::string, std::vector<int>>("k", {1, 2}));
}

TEST(ValueTest, ComplexAndChronoRoundTrip) {
  ExpectRoundTrip(std::complex<double>(1.5, -2.5));
  ExpectRoundTrip(std::chrono::milliseconds(1234));
  ExpectRoundTrip(std::chrono::nanoseconds(-5));
  const auto now = std::chrono::system_clock::now();
  ExpectRoundTrip(now);
}

TEST(ValueTest, AtomicRoundTrips) {
  std::atomic<int> value(17);
  cf::ByteBuffer bytes = cf::Encode(value);
  std::atomic<int> back(0);
  cf::internal::WireInputArchive in(bytes);
  in(back);
  EXPECT_EQ(back.load(), 17);
}

TEST(ValueTest, SmartPointersRoundTrip) {
  std::unique_ptr<Point> null_point;
  EXPECT_EQ(RoundTrip(null_point), nullptr);
  auto point = std::make_unique<Point>(Point{3, 4.5});
  std::unique_ptr<Point> back = RoundTrip(point);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(*back, *point);

  // Sharing within one value is kept.
  auto shared = std::make_shared<std::string>("shared");
  using Both = std::pair<std::shared_ptr<std::string>, std::shared_ptr<std::string>>;
  Both both = RoundTrip(Both(shared, shared));
  ASSERT_NE(both.first, nullptr);
  EXPECT_EQ(*both.first, "shared");
  EXPECT_EQ(both.first, both.second);
  EXPECT_EQ(RoundTrip(std::shared_ptr<int>()), nullptr);
}

// --- User types and nesting. ---

TEST(ValueTest, UserTypesRoundTrip) {
  ExpectRoundTrip(Point{1, 2.5});
  ExpectRoundTrip(Labelled{"shape", {{1, 1}, {2, 2}}});
  EXPECT_EQ(RoundTrip(Split("abc")).text(), "abc");
  ExpectRoundTrip(std::map<std::string, std::vector<Point>>{{"p", {{1, 0}}}, {"q", {}}});
}

TEST(ValueTest, DeepNestingRoundTrips) {
  using Nested = std::map<std::string,
                          std::vector<std::optional<std::variant<int, std::string, Labelled>>>>;
  Nested value = {{"first", {std::nullopt, 5, std::string("x"), Labelled{"l", {{1, 2}}}}},
                  {"second", {}}};
  ExpectRoundTrip(value);
}

TEST(ValueTest, SeveralValuesEncodeInOrder) {
  cf::ByteBuffer bytes = cf::Encode(1, std::string("two"), 3.0);
  cf::internal::WireInputArchive in(bytes);
  int one = 0;
  std::string two;
  double three = 0;
  in(one, two, three);
  EXPECT_EQ(one, 1);
  EXPECT_EQ(two, "two");
  EXPECT_EQ(three, 3.0);
  EXPECT_EQ(in.remaining(), 0u);
}

// --- Large payloads. ---

TEST(ValueTest, SixtyFourMegabytePayloadsRoundTrip) {
  constexpr size_t kSize = 64 << 20;
  std::vector<std::uint8_t> bytes(kSize);
  for (size_t i = 0; i < kSize; ++i) bytes[i] = static_cast<std::uint8_t>(i * 131 + (i >> 20));
  cf::ByteBuffer encoded = cf::Encode(bytes);
  EXPECT_EQ(encoded.size(), kSize + 8);
  absl::StatusOr<std::vector<std::uint8_t>> back = cf::Decode<std::vector<std::uint8_t>>(encoded);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == bytes);

  std::string text(kSize, 'q');
  text[kSize / 2] = 'Z';
  ExpectRoundTrip(text);

  std::vector<std::int64_t> numbers(kSize / 8);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<std::int64_t>(i) * -7;
  ExpectRoundTrip(numbers);
}

// --- Malformed input. ---

void ExpectDataLoss(const absl::Status& status, absl::string_view fragment) {
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(fragment)));
}

TEST(ValueTest, EveryTruncationIsAnError) {
  Labelled value{"label", {{1, 2}, {3, 4}}};
  cf::ByteBuffer bytes = cf::Encode(value);
  for (size_t size = 0; size < bytes.size(); ++size) {
    absl::StatusOr<Labelled> back = cf::Decode<Labelled>(bytes.span().subspan(0, size));
    ASSERT_FALSE(back.ok()) << "truncated to " << size;
    EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss) << back.status();
  }
}

TEST(ValueTest, TrailingBytesAreAnError) {
  cf::ByteBuffer bytes = cf::Encode(std::int32_t{5});
  bytes.Append("!", 1);
  ExpectDataLoss(cf::Decode<std::int32_t>(bytes).status(), "1 unexpected bytes");
}

TEST(ValueTest, HugeContainerSizeIsRejectedBeforeAllocating) {
  for (std::uint64_t size : {std::uint64_t{1} << 62, std::uint64_t{1} << 33, std::uint64_t{9}}) {
    cf::ByteBuffer bytes = cf::Encode(size);  // a size tag with nothing behind it
    bytes.Append("12345678", 8);
    ExpectDataLoss(cf::Decode<std::vector<std::int64_t>>(bytes).status(), "container of");
    ExpectDataLoss(cf::Decode<std::string>(cf::Encode(size)).status(), "container of");
    ExpectDataLoss(cf::Decode<std::map<int, int>>(cf::Encode(size)).status(), "container of");
  }
}

TEST(ValueTest, InvalidBoolIsAnError) {
  const char two = 2;
  ExpectDataLoss(cf::Decode<bool>(absl::Span<const char>(&two, 1)).status(), "invalid bool");
}

TEST(ValueTest, InvalidVariantIndexIsAnError) {
  cf::ByteBuffer bytes = cf::Encode(std::int32_t{7});  // cereal writes the index as int32
  bytes.Append("\0\0\0\0", 4);
  ExpectDataLoss(cf::Decode<std::variant<int, float>>(bytes).status(), "index");
}

TEST(ValueTest, BadSharedPointerReferencesAreErrors) {
  // A back reference (id without the high bit) to an id never defined.
  ExpectDataLoss(cf::Decode<std::shared_ptr<int>>(cf::Encode(std::uint32_t{5})).status(),
                 "undefined shared pointer");
  // An id defined as an int, then referenced as a std::string.
  auto number = std::make_shared<int>(3);
  cf::ByteBuffer bytes = cf::Encode(number);
  bytes.Append(cf::Encode(std::uint32_t{1}));
  using Mixed = std::pair<std::shared_ptr<int>, std::shared_ptr<std::string>>;
  ExpectDataLoss(cf::Decode<Mixed>(bytes).status(), "another type");
}

TEST(ValueTest, ExcessiveNestingIsAnErrorNotACrash) {
  Node head;
  Node* tail = &head;
  for (int i = 0; i < 5000; ++i) {
    tail->next = std::make_unique<Node>();
    tail = tail->next.get();
  }
  EXPECT_EQ(EncodeError(head), kTooDeep);
  // A peer without the limit (or a corrupted stream) can still send such bytes.
  const std::string bytes = EncodeWithoutLimit(head);
  ExpectDataLoss(cf::Decode<Node>(bytes).status(), kTooDeep);
  // Unlink iteratively so the destructor does not recurse 5000 deep.
  std::unique_ptr<Node> next = std::move(head.next);
  while (next != nullptr) next = std::move(next->next);
}

TEST(ValueTest, EncodingAVeryDeepValueIsAnErrorNotACrash) {
  // Without the limit the encoder recursed 100,000 values deep and overflowed the stack.
  EXPECT_EQ(EncodeError(Deep{100'000}), kTooDeep);
  cf::ByteBuffer out;
  out.Append("x", 1);
  EXPECT_THROW(cf::EncodeTo(&out, 7, Deep{100'000}), cf::SerializationError);
  // Nothing is left behind: shallow values still encode.
  absl::StatusOr<Deep> shallow = cf::Decode<Deep>(cf::Encode(Deep{3}));
  ASSERT_TRUE(shallow.ok()) << shallow.status();
  EXPECT_EQ(shallow->depth, 3);
}

TEST(ValueTest, EncoderAcceptsExactlyWhatTheDecoderAccepts) {
  // Deep{n} nests n + 1 values.
  const Deep at_limit{kMaxDepth - 1};
  const cf::ByteBuffer encoded = cf::Encode(at_limit);
  EXPECT_EQ(std::string(encoded.data(), encoded.size()), EncodeWithoutLimit(at_limit));
  absl::StatusOr<Deep> back = cf::Decode<Deep>(encoded);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->depth, kMaxDepth - 1);

  const Deep beyond{kMaxDepth};
  EXPECT_EQ(EncodeError(beyond), kTooDeep);
  try {
    cf::DecodeValueOrThrow<Deep>(EncodeWithoutLimit(beyond));
    ADD_FAILURE() << "the decoder accepted " << kMaxDepth + 1 << " levels";
  } catch (const cf::SerializationError& e) {
    EXPECT_EQ(e.what(), kTooDeep);
  }
}

// For a chain `make(n)` of n links: finds the first n the encoder refuses, and checks that the
// decoder accepts the chain one link shorter (encoded as cereal would) and refuses that one,
// with the same message.
template <typename T, typename Make>
void ExpectSameLimit(const char* shape, Make make) {
  SCOPED_TRACE(shape);
  int accepted = 0;
  int refused = 4 * kMaxDepth;
  ASSERT_EQ(EncodeError(make(accepted)), "(encoded)");
  ASSERT_EQ(EncodeError(make(refused)), kTooDeep);
  while (refused - accepted > 1) {
    const int middle = (accepted + refused) / 2;
    if (EncodeError(make(middle)) == "(encoded)") {
      accepted = middle;
    } else {
      refused = middle;
    }
  }
  const cf::ByteBuffer encoded = cf::Encode(make(accepted));
  EXPECT_EQ(std::string(encoded.data(), encoded.size()), EncodeWithoutLimit(make(accepted)));
  absl::StatusOr<T> back = cf::Decode<T>(encoded);
  EXPECT_TRUE(back.ok()) << accepted << " links: " << back.status();
  ExpectDataLoss(cf::Decode<T>(EncodeWithoutLimit(make(refused))).status(), kTooDeep);
}

TEST(ValueTest, EncoderAndDecoderRefuseAtTheSameDepthForEveryShape) {
  ExpectSameLimit<Deep>("Deep", [](int n) { return Deep{n}; });
  ExpectSameLimit<Node>("std::unique_ptr", [](int n) {
    Node head;
    Node* tail = &head;
    for (int i = 0; i < n; ++i) tail = (tail->next = std::make_unique<Node>()).get();
    return head;
  });
  ExpectSameLimit<SharedNode>("std::shared_ptr", [](int n) {
    SharedNode head;
    SharedNode* tail = &head;
    for (int i = 0; i < n; ++i) tail = (tail->next = std::make_shared<SharedNode>()).get();
    return head;
  });
  ExpectSameLimit<Tree>("std::vector", [](int n) {
    Tree root;
    Tree* leaf = &root;
    for (int i = 0; i < n; ++i) leaf = &leaf->children.emplace_back();
    return root;
  });
  using Nested = std::optional<std::variant<int, Tree>>;
  ExpectSameLimit<Nested>("std::optional and std::variant", [](int n) {
    Tree root;
    Tree* leaf = &root;
    for (int i = 0; i < n; ++i) leaf = &leaf->children.emplace_back();
    return Nested(std::variant<int, Tree>(std::move(root)));
  });
}

TEST(ValueTest, LoadThatThrowsIsReportedWithItsType) {
  absl::StatusOr<ThrowsOnLoad> back = cf::Decode<ThrowsOnLoad>(cf::Encode(ThrowsOnLoad()));
  EXPECT_EQ(back.status().code(), absl::StatusCode::kUnknown);
  EXPECT_THAT(std::string(back.status().message()), HasSubstr("std::out_of_range"));
  EXPECT_THAT(std::string(back.status().message()), HasSubstr("ThrowsOnLoad refused"));
  EXPECT_THROW(cf::DecodeValueOrThrow<ThrowsOnLoad>(cf::Encode(ThrowsOnLoad())),
               std::out_of_range);
}

TEST(ValueTest, GarbageNeverCrashes) {
  std::uint64_t state = 0x9e3779b97f4a7c15;
  for (int round = 0; round < 2000; ++round) {
    std::string garbage(static_cast<size_t>(round % 64), '\0');
    for (char& c : garbage) {
      state = state * 6364136223846793005 + 1442695040888963407;
      c = static_cast<char>(state >> 56);
    }
    (void)cf::Decode<std::map<std::string, std::vector<int>>>(garbage);
    (void)cf::Decode<std::variant<bool, std::string, std::optional<double>>>(garbage);
    (void)cf::Decode<std::pair<std::shared_ptr<int>, std::unique_ptr<std::string>>>(garbage);
    (void)cf::Decode<std::bitset<70>>(garbage);
    (void)cf::Decode<Labelled>(garbage);
  }
}

TEST(ValueTest, ThrowingDecodeReportsSerializationError) {
  EXPECT_THROW(cf::DecodeValueOrThrow<std::string>(absl::Span<const char>("\x05", 1)),
               cf::SerializationError);
}

}  // namespace
