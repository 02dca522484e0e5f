// cf/core/internal/map.h — the executor-independent machinery behind Executor::Map.
//
// Not part of the public API: use Map() on an executor, which returns cf::MapResults
// (cf/core/executor.h).
//
// Map() splits its input into chunks of `chunksize` items; each chunk becomes one task of the
// executor, whose result is the chunk's results in order (MapChunk<R>). The pieces here:
//   * InvokeMapItem(fn, item): calls fn on one input; a std::tuple / std::pair item is spread
//     into several arguments when fn accepts them (Python's map(fn, a, b) over zip(a, b)).
//   * RunMapChunk<R>(fn, items): what a chunk task does — fn on every item, in order; the first
//     exception fails the whole chunk.
//   * MapSource<R> / RangeMapSource: pulls inputs lazily from any input range (unbounded ones
//     such as std::views::iota(0) included), or from several zipped (Python's map(fn, a, b):
//     one element of each per call, ending with the shortest), and hands each chunk to the
//     executor's submit function. MapResults<R> owns one and decides how many chunks are in
//     flight.
//
// The submit function is the only executor-specific part, so both executors share this code:
//   submit(MapItems<Item>&& chunk) -> std::optional<Future<MapChunk<R>>>
// with Item = MapItemOf<Ranges...>.
// It returns std::nullopt when the executor is gone (no more inputs are pulled; the iteration
// ends quietly after the chunks already submitted, like Python's map after the executor was
// garbage collected) and throws what the executor's Submit throws (ShutdownError,
// BrokenThreadPool, ...).
//
// Thread safety: a MapSource is used by one thread at a time (the owner of the MapResults).
#ifndef CF_CORE_INTERNAL_MAP_H_
#define CF_CORE_INTERNAL_MAP_H_

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "cf/core/future.h"

namespace cf::internal {

// The element type MapResults<R> yields: R itself, or std::monostate for functions returning
// void (iterate to wait for each call and to see its exception).
template <typename R>
using MapValue = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// A sequence stored inline while it holds one element and in a std::vector beyond that: a
// chunk's inputs (MapItems) and a chunk task's results (MapChunk), so that chunksize 1 (the
// default) costs no allocation beyond the task itself. (absl::InlinedVector would do, but its
// move constructor copies the whole inline buffer, which GCC's -Wmaybe-uninitialized rejects.)
template <typename T>
class OneOrMany {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  OneOrMany() = default;
  OneOrMany(std::initializer_list<T> values) {
    reserve(values.size());
    for (const T& v : values) emplace_back(v);
  }

  // Capacity for n elements; n > 1 switches to the vector at once.
  void reserve(size_t n) {
    if (n > 1 && !one_.has_value()) many_.reserve(n);
  }
  template <typename... A>
  T& emplace_back(A&&... args) {
    if (!one_.has_value() && many_.capacity() == 0) return one_.emplace(std::forward<A>(args)...);
    if (one_.has_value()) {
      many_.reserve(2);
      many_.push_back(std::move(*one_));
      one_.reset();
    }
    return many_.emplace_back(std::forward<A>(args)...);
  }
  void push_back(T value) { emplace_back(std::move(value)); }

  size_t size() const { return one_.has_value() ? 1 : many_.size(); }
  bool empty() const { return size() == 0; }
  T& operator[](size_t i) { return begin()[i]; }
  const T& operator[](size_t i) const { return begin()[i]; }
  T* begin() { return one_.has_value() ? &*one_ : many_.data(); }
  T* end() { return begin() + size(); }
  const T* begin() const { return one_.has_value() ? &*one_ : many_.data(); }
  const T* end() const { return begin() + size(); }

 private:
  std::optional<T> one_;  // the only element, while there is exactly one
  std::vector<T> many_;   // every element otherwise
};

template <typename Item>
using MapItems = OneOrMany<Item>;
template <typename R>
struct MapChunkOf {
  using type = OneOrMany<R>;
};
template <>
struct MapChunkOf<void> {
  using type = void;
};
template <typename R>
using MapChunk = typename MapChunkOf<R>::type;

template <typename T>
struct IsTupleOrPair : std::false_type {};
template <typename... T>
struct IsTupleOrPair<std::tuple<T...>> : std::true_type {};
template <typename A, typename B>
struct IsTupleOrPair<std::pair<A, B>> : std::true_type {};

// True when `item` is a tuple or pair whose elements fn accepts as separate arguments.
template <typename Fn, typename Item>
constexpr bool SpreadsItem() {
  if constexpr (IsTupleOrPair<std::remove_cvref_t<Item>>::value) {
    return []<size_t... I>(std::index_sequence<I...>) {
      return std::is_invocable_v<Fn&, decltype(std::get<I>(std::declval<Item&&>()))...>;
    }
    (std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<Item>>>());
  } else {
    return false;
  }
}

template <typename Fn, typename Item>
constexpr bool kMapInvocable = SpreadsItem<Fn, Item>() || std::is_invocable_v<Fn&, Item&&>;

// Calls fn (as an lvalue) on one input, consuming it.
template <typename Fn, typename Item>
decltype(auto) InvokeMapItem(Fn& fn, Item&& item) {
  static_assert(kMapInvocable<Fn, Item>,
                "cf Map: the function cannot be called with an element of the input range (nor "
                "with the elements of a tuple/pair element spread into separate arguments)");
  if constexpr (SpreadsItem<Fn, Item>()) {
    return std::apply(fn, std::forward<Item>(item));
  } else {
    return std::invoke(fn, std::forward<Item>(item));
  }
}

// The result type of fn on one input, as stored (references decay to values).
template <typename Fn, typename Item>
using MapResultOf = std::conditional_t<
    std::is_void_v<decltype(InvokeMapItem(std::declval<Fn&>(), std::declval<Item&&>()))>, void,
    std::remove_cvref_t<decltype(InvokeMapItem(std::declval<Fn&>(), std::declval<Item&&>()))>>;

// What a chunk task runs: fn on each item in order. An exception escapes (and so fails the
// whole chunk, as in Python's process pool) at the first item that throws.
template <typename R, typename Fn, typename Item>
MapChunk<R> RunMapChunk(Fn& fn, MapItems<Item>& items) {
  if constexpr (std::is_void_v<R>) {
    for (Item& item : items) InvokeMapItem(fn, std::move(item));
  } else {
    static_assert(std::is_move_constructible_v<R>,
                  "cf Map: the function's result type must be move-constructible");
    MapChunk<R> out;
    out.reserve(items.size());
    for (Item& item : items) out.emplace_back(InvokeMapItem(fn, std::move(item)));
    return out;
  }
}

// One submitted chunk: its future and how many inputs it holds.
template <typename R>
struct SubmittedChunk {
  Future<MapChunk<R>> future;
  int size = 0;
};

// Pulls inputs and submits them in chunks; type-erased so MapResults depends on R only.
template <typename R>
class MapSource {
 public:
  virtual ~MapSource() = default;
  // Pulls up to chunksize inputs and submits them as one chunk into `out`. Returns false (and
  // submits nothing) when the input is exhausted or the executor is gone. Throws what the
  // range's iterator or the executor's Submit throws.
  virtual bool SubmitNext(SubmittedChunk<R>& out) = 0;
};

// One input range of a Map: an lvalue range is referenced (it must outlive the MapResults when
// buffersize > 0), an rvalue range is moved in and owned. Elements of an owned container are
// moved out; otherwise they are copied. Not movable: it may point into itself.
template <typename Range>
class MapInput {
 public:
  static constexpr bool kOwned = !std::is_lvalue_reference_v<Range>;
  using Stored = std::remove_reference_t<Range>;

  explicit MapInput(Range&& range)
      : range_(Hold(std::forward<Range>(range))),
        it_(std::ranges::begin(Get())),
        end_(std::ranges::end(Get())) {}
  MapInput(const MapInput&) = delete;
  MapInput& operator=(const MapInput&) = delete;

  bool AtEnd() const { return it_ == end_; }
  // The current element, for the caller to construct its item from: an rvalue reference into
  // an owned container, otherwise what the iterator yields.
  decltype(auto) Current() {
    if constexpr (kOwned && !std::ranges::view<Stored>) {
      return std::ranges::iter_move(it_);
    } else {
      return *it_;
    }
  }
  void Advance() { ++it_; }

 private:
  using Holder = std::conditional_t<kOwned, Stored, Stored*>;
  static Holder Hold(Range&& range) {
    if constexpr (kOwned) {
      return std::move(range);
    } else {
      return &range;
    }
  }
  Stored& Get() {
    if constexpr (kOwned) {
      return range_;
    } else {
      return *range_;
    }
  }

  Holder range_;
  std::ranges::iterator_t<Stored> it_;
  std::ranges::sentinel_t<Stored> end_;
};

// The item a Map over `Ranges` hands to fn: the element of a single range (spread when it is a
// tuple or pair fn accepts that way), or a tuple of one element of each range (always spread:
// Python's map(fn, a, b) over zip(a, b)).
template <typename... Ranges>
struct MapItemOfRanges {
  using type = std::tuple<std::ranges::range_value_t<std::remove_reference_t<Ranges>>...>;
};
template <typename Range>
struct MapItemOfRanges<Range> {
  using type = std::ranges::range_value_t<std::remove_reference_t<Range>>;
};
template <typename... Ranges>
using MapItemOf = typename MapItemOfRanges<Ranges...>::type;

// Whether Map(fn, ranges...) can call fn on each item.
template <typename Fn, typename... Ranges>
constexpr bool MapCallable() {
  if constexpr (sizeof...(Ranges) == 1) {
    return kMapInvocable<Fn, MapItemOf<Ranges...>>;
  } else {
    return std::is_invocable_v<Fn&,
                               std::ranges::range_value_t<std::remove_reference_t<Ranges>>&&...>;
  }
}
template <typename Fn, typename... Ranges>
constexpr bool kMapCallable = MapCallable<Fn, Ranges...>();

// MapSource over one range, or over several zipped (an item takes one element of each and the
// input ends with the shortest range). Each range is held as MapInput describes.
template <typename R, typename SubmitFn, typename... Ranges>
class RangeMapSource final : public MapSource<R> {
 public:
  using Item = MapItemOf<Ranges...>;

  RangeMapSource(int chunksize, SubmitFn submit, Ranges&&... ranges)
      : inputs_(std::forward<Ranges>(ranges)...),
        chunksize_(chunksize),
        submit_(std::move(submit)) {}

  bool SubmitNext(SubmittedChunk<R>& out) override {
    if (done_ || AnyAtEnd()) return false;
    MapItems<Item> items;
    while (static_cast<int>(items.size()) < chunksize_ && !AnyAtEnd()) {
      std::apply(
          [&items](MapInput<Ranges>&... in) {
            items.emplace_back(in.Current()...);
            (in.Advance(), ...);
          },
          inputs_);
    }
    const int size = static_cast<int>(items.size());
    std::optional<Future<MapChunk<R>>> future = submit_(std::move(items));
    if (!future.has_value()) {
      done_ = true;  // the executor is gone: pull nothing more
      return false;
    }
    out.future = *std::move(future);
    out.size = size;
    return true;
  }

 private:
  bool AnyAtEnd() const {
    return std::apply([](const MapInput<Ranges>&... in) { return (in.AtEnd() || ...); }, inputs_);
  }

  std::tuple<MapInput<Ranges>...> inputs_;
  const int chunksize_;
  SubmitFn submit_;
  bool done_ = false;
};

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_MAP_H_
