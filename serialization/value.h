// cf/serialization/value.h — arguments and results as bytes: cereal's binary format.
//
// Encode(values...) appends values to a ByteBuffer; Decode<T>(bytes) reads one back. What is
// serializable (kIsSerializable<T>):
//   * arithmetic types, enums, std::string (and the other char types' strings);
//   * every standard container cereal supports: vector, deque, list, forward_list, array, map,
//     multimap, unordered_map, unordered_multimap, set, multiset, unordered_set,
//     unordered_multiset, stack, queue, priority_queue, valarray, bitset;
//   * std::optional, std::variant, std::tuple, std::pair, std::complex, std::chrono::duration and
//     time_point, std::unique_ptr, std::shared_ptr / weak_ptr (sharing is kept within one
//     value), std::atomic — nested in any combination;
//   * user types with cereal's serialize() (or save()/load()) member or free functions. Decoding
//     needs a default constructor.
//   * cf::SharedBuffer (shared_buffer.h), whose bytes are not copied into the encoding: it
//     refers to the buffer's memory, an "attachment" of the encoding (see below).
// Raw pointers, references, functions and closures are not: processes share no memory. A type
// that is not serializable fails to compile, with a static_assert that says so, where cf first
// needs it (Encode, Decode, CF_TASK, TaskCall).
//
// Decoding treats the bytes as untrusted: a payload that ends early, has bytes left over,
// declares a container larger than the bytes left, or holds an invalid bool or variant index is
// a cf::SerializationError (DecodeValue... throws it; Decode returns it as kDataLoss). Memory
// allocated while decoding stays proportional to the payload's size. Values nested more than
// 1000 levels deep are refused with a cf::SerializationError by encoding and decoding alike.
//
// Attachments: some values (cf::SharedBuffer) encode a reference to memory they own instead of
// their bytes. The rule is: the encoder of a payload keeps its attachments alive until the
// receiver has decoded it. EncodeWithAttachments() collects them for you to keep; TaskCall and
// TaskOutcome (task.h) collect theirs. Encode()/EncodeTo() collect none: keep such values alive
// yourself until the bytes are decoded.
//
// Thread safety: the functions are reentrant; they share no state.
//
// Example:
//   cf::ByteBuffer bytes = cf::Encode(std::map<std::string, int>{{"a", 1}});
//   absl::StatusOr<std::map<std::string, int>> back =
//       cf::Decode<std::map<std::string, int>>(bytes);
#ifndef CF_SERIALIZATION_VALUE_H_
#define CF_SERIALIZATION_VALUE_H_

#include <array>
#include <atomic>
#include <complex>
#include <deque>
#include <exception>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <stack>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <valarray>
#include <variant>
#include <vector>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "cereal/cereal.hpp"
#include "cereal/types/array.hpp"
#include "cereal/types/atomic.hpp"
#include "cereal/types/bitset.hpp"
#include "cereal/types/chrono.hpp"
#include "cereal/types/common.hpp"
#include "cereal/types/complex.hpp"
#include "cereal/types/deque.hpp"
#include "cereal/types/forward_list.hpp"
#include "cereal/types/functional.hpp"
#include "cereal/types/list.hpp"
#include "cereal/types/map.hpp"
#include "cereal/types/memory.hpp"
#include "cereal/types/optional.hpp"
#include "cereal/types/queue.hpp"
#include "cereal/types/set.hpp"
#include "cereal/types/stack.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/tuple.hpp"
#include "cereal/types/unordered_map.hpp"
#include "cereal/types/unordered_set.hpp"
#include "cereal/types/utility.hpp"
#include "cereal/types/valarray.hpp"
#include "cereal/types/variant.hpp"
#include "cereal/types/vector.hpp"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/internal/archive.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "cf/serialization/internal/demangle.h"

namespace cf {
namespace internal {

// cereal's traits only see whether a save/load function exists: they accept raw pointers (whose
// function is a static_assert) and any std::vector<T>, serializable T or not. This looks inside
// the standard templates and rejects pointers.
template <typename T>
struct DeepSerializable : std::bool_constant<kIsWireSerializable<T>> {};
template <typename T>
struct DeepSerializable<T*> : std::false_type {};
template <typename T>
struct DeepSerializable<const T> : DeepSerializable<T> {};

template <typename... T>
inline constexpr bool kAllDeepSerializable = (DeepSerializable<T>::value && ...);

template <typename T, typename... Rest>
struct DeepSerializable<std::vector<T, Rest...>>
    : std::bool_constant<kAllDeepSerializable<T> && kIsWireSerializable<std::vector<T, Rest...>>> {
};
template <typename T, typename... Rest>
struct DeepSerializable<std::deque<T, Rest...>> : DeepSerializable<T> {};
template <typename T, typename... Rest>
struct DeepSerializable<std::list<T, Rest...>> : DeepSerializable<T> {};
template <typename T, typename... Rest>
struct DeepSerializable<std::forward_list<T, Rest...>> : DeepSerializable<T> {};
template <typename T, size_t N>
struct DeepSerializable<std::array<T, N>> : DeepSerializable<T> {};
template <typename T>
struct DeepSerializable<std::valarray<T>> : DeepSerializable<T> {};
template <typename K, typename V, typename... Rest>
struct DeepSerializable<std::map<K, V, Rest...>>
    : std::bool_constant<kAllDeepSerializable<K, V>> {};
template <typename K, typename V, typename... Rest>
struct DeepSerializable<std::multimap<K, V, Rest...>>
    : std::bool_constant<kAllDeepSerializable<K, V>> {};
template <typename K, typename V, typename... Rest>
struct DeepSerializable<std::unordered_map<K, V, Rest...>>
    : std::bool_constant<kAllDeepSerializable<K, V>> {};
template <typename K, typename V, typename... Rest>
struct DeepSerializable<std::unordered_multimap<K, V, Rest...>>
    : std::bool_constant<kAllDeepSerializable<K, V>> {};
template <typename T, typename... Rest>
struct DeepSerializable<std::set<T, Rest...>> : DeepSerializable<T> {};
template <typename T, typename... Rest>
struct DeepSerializable<std::multiset<T, Rest...>> : DeepSerializable<T> {};
template <typename T, typename... Rest>
struct DeepSerializable<std::unordered_set<T, Rest...>> : DeepSerializable<T> {};
template <typename T, typename... Rest>
struct DeepSerializable<std::unordered_multiset<T, Rest...>> : DeepSerializable<T> {};
template <typename T, typename C>
struct DeepSerializable<std::stack<T, C>> : std::bool_constant<kAllDeepSerializable<T, C>> {};
template <typename T, typename C>
struct DeepSerializable<std::queue<T, C>> : std::bool_constant<kAllDeepSerializable<T, C>> {};
template <typename T, typename C, typename Compare>
struct DeepSerializable<std::priority_queue<T, C, Compare>>
    : std::bool_constant<kAllDeepSerializable<T, C>> {};
template <typename T>
struct DeepSerializable<std::optional<T>> : DeepSerializable<T> {};
template <typename... T>
struct DeepSerializable<std::variant<T...>> : std::bool_constant<kAllDeepSerializable<T...>> {};
template <typename... T>
struct DeepSerializable<std::tuple<T...>> : std::bool_constant<kAllDeepSerializable<T...>> {};
template <typename A, typename B>
struct DeepSerializable<std::pair<A, B>> : std::bool_constant<kAllDeepSerializable<A, B>> {};
template <typename T, typename D>
struct DeepSerializable<std::unique_ptr<T, D>>
    : std::bool_constant<DeepSerializable<T>::value && !std::is_polymorphic_v<T> &&
                         kIsWireSerializable<std::unique_ptr<T, D>>> {};
template <typename T>
struct DeepSerializable<std::shared_ptr<T>>
    : std::bool_constant<DeepSerializable<T>::value && !std::is_polymorphic_v<T>> {};
template <typename T>
struct DeepSerializable<std::weak_ptr<T>>
    : std::bool_constant<DeepSerializable<T>::value && !std::is_polymorphic_v<T>> {};
template <typename T>
struct DeepSerializable<std::atomic<T>> : DeepSerializable<T> {};
template <typename T>
struct DeepSerializable<std::complex<T>> : DeepSerializable<T> {};

// cereal inserts each loaded element with the previous one as a hint, which puts equal keys of a
// multimap/multiset in reverse order. These loads (preferred for cf's archive) keep the order.
template <class K, class V, class C, class A>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& archive, std::multimap<K, V, C, A>& map) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  map.clear();
  for (cereal::size_type i = 0; i < size; ++i) {
    K key;
    V value;
    archive(cereal::make_map_item(key, value));
    map.emplace_hint(map.end(), std::move(key), std::move(value));
  }
}
template <class K, class C, class A>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& archive, std::multiset<K, C, A>& set) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  set.clear();
  for (cereal::size_type i = 0; i < size; ++i) {
    K key;
    archive(key);
    set.emplace_hint(set.end(), std::move(key));
  }
}

// Byte vectors and strings: cereal's loaders resize (zeroing every byte) and then copy over them;
// these construct straight from the payload, one pass over a 16 MB argument instead of two, and
// check the announced size against what is left before allocating anything. A big one's fresh
// pages are asked for in one go first (PrefaultForWrite).
template <class T, class A>
std::enable_if_t<std::is_arithmetic_v<T> && sizeof(T) == 1 && !std::is_same_v<T, bool>>
CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& archive, std::vector<T, A>& values) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  const auto* bytes = reinterpret_cast<const T*>(archive.Take(static_cast<size_t>(size)));
  if (size > values.capacity()) {
    values.clear();
    values.reserve(static_cast<size_t>(size));
    PrefaultForWrite(values.data(), static_cast<size_t>(size));
  }
  values.assign(bytes, bytes + size);
}
template <class Traits, class A>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& archive, std::basic_string<char, Traits, A>& text) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  const char* bytes = archive.Take(static_cast<size_t>(size));
  if (size > text.capacity()) {
    text.clear();
    text.reserve(static_cast<size_t>(size));
    PrefaultForWrite(text.data(), static_cast<size_t>(size));
  }
  text.assign(bytes, static_cast<size_t>(size));
}

// cereal's std::valarray functions take &valarray[0], undefined behaviour for an empty valarray
// (found by the frame fuzzer). These replace them for cf's archives.
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(
    WireOutputArchive& archive, const std::valarray<T>& values) {
  archive(cereal::make_size_tag(static_cast<cereal::size_type>(values.size())));
  if (values.size() > 0) archive(cereal::binary_data(&values[0], values.size() * sizeof(T)));
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& archive,
                                                                    std::valarray<T>& values) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  values.resize(static_cast<size_t>(size));
  if (size > 0) archive(cereal::binary_data(&values[0], static_cast<size_t>(size) * sizeof(T)));
}

}  // namespace internal

// True if T (after std::decay) can be both encoded and decoded. Standard templates are checked
// element by element; for a user type, the presence of its serialize()/save()/load() counts.
template <typename T>
inline constexpr bool kIsSerializable = internal::DeepSerializable<std::decay_t<T>>::value;

namespace internal {

template <typename T>
constexpr void AssertEncodable() {
  static_assert(kIsSerializable<T>,
                "cf: this type is not serializable, so it cannot cross a process boundary. Give "
                "it a cereal serialize(Archive&) member (or save/load), or use arithmetic types, "
                "std::string and standard containers; pointers, references and closures cannot "
                "be serialized. The offending type is T in this instantiation.");
}

template <typename T>
constexpr void AssertDecodable() {
  AssertEncodable<T>();
  static_assert(std::is_default_constructible_v<std::decay_t<T>>,
                "cf: decoding needs a default constructor: the value is constructed, then "
                "loaded. The offending type is T in this instantiation.");
}

// Reads one T from `in`; a cereal::Exception becomes a cf::SerializationError. Throws what a
// user's load() throws.
template <typename T>
void LoadValue(WireInputArchive& in, T& value) {
  try {
    in(value);
  } catch (const cereal::Exception& e) {
    throw SerializationError(absl::StrCat("malformed payload: ", e.what()));
  }
}

}  // namespace internal

// Appends the encoding of `values` (in order) to *out. Throws what a user's save() throws, and
// cf::SerializationError if a value nests deeper than decoding accepts (more than
// internal::kMaxNestingDepth levels: refused, like a save() that recurses without end, instead
// of overflowing the stack); on a throw, *out may hold a partial encoding after its old end.
template <typename... T>
void EncodeTo(ByteBuffer* out, const T&... values) {
  (internal::AssertEncodable<T>(), ...);
  if constexpr ((kIsSerializable<T> && ...)) {  // otherwise only the static_assert reports it
    internal::WireOutputArchive archive(out);
    archive(values...);
  }
}

// What an encoding refers to without containing it (see "Attachments" above): opaque owners, to
// be kept until the receiver has decoded the bytes.
using Attachments = std::vector<std::shared_ptr<const void>>;

// Like EncodeTo(), and appends the encoding's attachments to *attachments (not null).
template <typename... T>
void EncodeWithAttachments(ByteBuffer* out, Attachments* attachments, const T&... values) {
  (internal::AssertEncodable<T>(), ...);
  if constexpr ((kIsSerializable<T> && ...)) {
    internal::WireOutputArchive archive(out, attachments);
    archive(values...);
  }
}

// The encoding of `values`, in order.
template <typename... T>
ByteBuffer Encode(const T&... values) {
  ByteBuffer out;
  EncodeTo(&out, values...);
  return out;
}

// Decodes a T that occupies all of `bytes`. Throws cf::SerializationError for malformed bytes,
// and what a user's load() throws.
template <typename T>
T DecodeValueOrThrow(absl::Span<const char> bytes) {
  internal::AssertDecodable<T>();
  if constexpr (kIsSerializable<T> && std::is_default_constructible_v<T>) {
    T value{};
    internal::WireInputArchive archive(bytes);
    internal::LoadValue(archive, value);
    archive.ExpectEnd();
    return value;
  } else {
    throw SerializationError("unreachable: the static_assert above fails");
  }
}

// Decodes a T that occupies all of `bytes`. kDataLoss for malformed bytes; kUnknown, naming the
// exception, if a user's load() threw something else.
template <typename T>
absl::StatusOr<T> Decode(absl::Span<const char> bytes) {
  try {
    return DecodeValueOrThrow<T>(bytes);
  } catch (const SerializationError& e) {
    return absl::DataLossError(absl::StrCat("cannot decode a ",
                                            internal::TypeName(typeid(T)), ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat("decoding a ", internal::TypeName(typeid(T)),
                                           " threw ", internal::TypeName(typeid(e)), ": ",
                                           e.what()));
  } catch (...) {
    return absl::UnknownError(absl::StrCat("decoding a ", internal::TypeName(typeid(T)),
                                           " threw ", internal::CurrentExceptionTypeName()));
  }
}

}  // namespace cf

#endif  // CF_SERIALIZATION_VALUE_H_
