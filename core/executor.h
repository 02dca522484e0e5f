// cf/core/executor.h — what both executors share: MapOptions (Python's map() keyword
// arguments) and MapResults<R>, the range that ThreadPoolExecutor::Map and
// ProcessPoolExecutor::Map return.
//
// MapResults<R> is a move-only input range of R (std::monostate when the function returns void),
// yielding one result per input, in input order, as Python's Executor.map does (3.14 semantics):
//
//   * Submission. The inputs are cut into chunks of `chunksize`; each chunk is one task.
//     buffersize 0 (the default, Python's None) pulls every input and submits every chunk when
//     Map() is called — even if the results are never iterated. buffersize N > 0 pulls and
//     submits N chunks at the call, and one more chunk each time iteration moves to the next
//     chunk (before waiting for it), so an unbounded input such as std::views::iota(0) works
//     and exactly N chunks are pulled while nobody iterates. If the executor is destroyed
//     meanwhile, no more inputs are pulled and the iteration ends quietly after the chunks
//     already submitted (Python's map holds only a weak reference to its executor).
//   * Timeout. `timeout` counts from the Map() call and covers the whole iteration. When it runs
//     out while waiting for a chunk, that chunk's task is cancelled (if it has not started),
//     iteration throws cf::TimeoutError and ends.
//   * Exceptions. The first chunk whose task failed rethrows its exception at that chunk's first
//     position (earlier items of the same chunk are not yielded), and ends the iteration. A
//     chunk cancelled by someone else (e.g. Shutdown(cancel_futures=true)) throws
//     cf::CancelledError there.
//   * End. Once the iteration ended (exception, timeout, Close()) or the MapResults is
//     destroyed, every submitted chunk that has not started is cancelled; begin() == end().
//
// State machine (per MapResults):
//   created (chunks submitted) ──begin()──► iterating ──last result consumed──► exhausted
//        │                                     │ └──exception/timeout (thrown)──► exhausted
//        └───────────────Close() / destruction: cancel what has not started──► exhausted
//
// Thread safety: a MapResults and its iterators are used by one thread at a time (they are
// like a Python generator). The tasks run on the executor's workers; everything a task did
// happens-before its results are yielded. Moving a MapResults invalidates its iterators.
//
// Example:
//   cf::ThreadPoolExecutor pool(4);
//   for (int square : pool.Map([](int x) { return x * x; }, std::vector<int>{1, 2, 3})) ...
//   // Two arguments per call, unbounded input, 8 chunks of 100 in flight, 10 s in total:
//   auto sums = pool.Map([](int a, int b) { return a + b; }, pairs,
//                        {.timeout = absl::Seconds(10), .chunksize = 100, .buffersize = 8});
//   // Python's map(fn, a, b): one element of each range per call, up to the shortest:
//   auto products = pool.Map([](int a, int b) { return a * b; }, xs, std::views::iota(1),
//                            {.timeout = std::chrono::seconds(10)});
#ifndef CF_CORE_EXECUTOR_H_
#define CF_CORE_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/core/internal/map.h"
#include "cf/core/timeout.h"

namespace cf {

// Options of ThreadPoolExecutor::Map and ProcessPoolExecutor::Map.
//   timeout:    the whole iteration's budget, counted from the Map() call (Python's timeout);
//               when it runs out, iteration throws cf::TimeoutError and ends. An absl::Duration
//               or a std::chrono duration (cf::Timeout); absl::InfiniteDuration(): none.
//   chunksize:  inputs per task (>= 1). The process pool sends one frame per chunk; the thread
//               pool runs one task per chunk.
//   buffersize: chunks in flight at once (>= 0). 0 (the default, Python's None) submits every
//               input when Map() is called; N > 0 submits N chunks and one more as each result
//               is consumed, so unbounded inputs work.
struct MapOptions {
  Timeout timeout = absl::InfiniteDuration();
  int chunksize = 1;
  int buffersize = 0;
  // Process pool only: how long one chunk may run once a worker took it; then its results
  // fail with cf::TaskTimeoutError and the worker is replaced (see cf::TaskOptions). The
  // thread pool cannot stop a thread and throws std::invalid_argument if it is set.
  Timeout chunk_timeout = absl::InfiniteDuration();
};

// Throws std::invalid_argument("chunksize must be >= 1" / "buffersize must be >= 0") for
// options Map() cannot honour.
void ValidateMapOptions(const MapOptions& options);

template <typename R>
class MapResults;

namespace internal {
template <typename R, typename SubmitFn, typename... Ranges>
MapResults<R> MakeMapResults(const MapOptions& options, SubmitFn submit, Ranges&&... inputs);
}  // namespace internal

// See the file comment. Obtained from an executor's Map().
template <typename R>
class MapResults {
 public:
  using value_type = internal::MapValue<R>;

  // An input iterator; *it is the current result, which the caller may move from. It stays
  // valid until the iterator is incremented or the MapResults is closed or destroyed.
  class iterator {
   public:
    using value_type = MapResults::value_type;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    value_type& operator*() const { return results_->Current(); }
    value_type* operator->() const { return &results_->Current(); }
    // Blocks until the next result is ready; throws the task's exception, TimeoutError or
    // CancelledError as the file comment describes (the iteration then ends).
    iterator& operator++() {
      results_->Advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class MapResults;
    explicit iterator(MapResults* results) : results_(results) {}
    bool at_end() const { return results_->exhausted_; }
    MapResults* results_ = nullptr;
  };

  MapResults(MapResults&& other) noexcept { MoveFrom(other); }
  MapResults& operator=(MapResults&& other) noexcept {
    if (this != &other) {
      Close();
      MoveFrom(other);
    }
    return *this;
  }
  MapResults(const MapResults&) = delete;
  MapResults& operator=(const MapResults&) = delete;
  // Cancels every submitted task that has not started (Python's generator close()).
  ~MapResults() { Close(); }

  // Starts the iteration: blocks until the first result is ready (may throw as operator++).
  // Later calls return an iterator at the current position.
  iterator begin() {
    if (!started_) {
      started_ = true;
      Advance();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const { return std::default_sentinel; }

  // Ends the iteration now: cancels every submitted task that has not started and pulls no
  // more inputs. Idempotent.
  void Close() {
    exhausted_ = true;
    source_.reset();
    current_ = {};
    for (internal::SubmittedChunk<R>& chunk : in_flight_) {
      if (chunk.future.valid()) chunk.future.Cancel();
    }
    in_flight_.clear();
  }

 private:
  template <typename R2, typename SubmitFn, typename... Ranges>
  friend MapResults<R2> internal::MakeMapResults(const MapOptions& options, SubmitFn submit,
                                                 Ranges&&... inputs);

  MapResults(std::unique_ptr<internal::MapSource<R>> source, const MapOptions& options)
      : source_(std::move(source)),
        deadline_(options.timeout.duration() == absl::InfiniteDuration()
                      ? absl::InfiniteFuture()
                      : absl::Now() + options.timeout.duration()),
        buffersize_(options.buffersize) {}

  // Submits up to `n` chunks (all of them when n == 0).
  void Prime(int n) {
    for (int i = 0; source_ != nullptr && (n == 0 || i < n); ++i) SubmitOne();
  }

  void SubmitOne() {
    internal::SubmittedChunk<R> chunk;
    if (source_->SubmitNext(chunk)) {
      in_flight_.push_back(std::move(chunk));
    } else {
      source_.reset();  // input exhausted (or executor gone): release the range now
    }
  }

  void MoveFrom(MapResults& other) noexcept {
    source_ = std::move(other.source_);
    in_flight_ = std::move(other.in_flight_);
    other.in_flight_.clear();
    current_ = std::exchange(other.current_, {});
    deadline_ = other.deadline_;
    buffersize_ = other.buffersize_;
    position_ = other.position_;
    chunk_start_ = other.chunk_start_;
    started_ = other.started_;
    exhausted_ = std::exchange(other.exhausted_, true);
  }

  value_type& Current() {
    if constexpr (std::is_void_v<R>) {
      return unit_;
    } else {
      return internal::FutureAccess::State(current_.future)->value()[position_];
    }
  }

  void Advance() {
    if (exhausted_) return;
    if (current_.future.valid()) {
      if (++position_ < current_.size) return;
      chunk_start_ += current_.size;
      current_ = {};
    }
    try {
      // Python submits the next input before waiting on the oldest one.
      if (buffersize_ > 0 && source_ != nullptr) SubmitOne();
    } catch (...) {
      Close();
      throw;
    }
    if (in_flight_.empty()) {
      Close();
      return;
    }
    internal::SubmittedChunk<R> next = std::move(in_flight_.front());
    in_flight_.pop_front();
    internal::StateBase* state = internal::FutureAccess::State(next.future);
    if (!state->WaitUntil(deadline_)) {
      next.future.Cancel();
      Close();
      throw TimeoutError(absl::StrCat("cf::MapResults: the Map timeout ran out before result #",
                                      chunk_start_, " (counting from 0) was ready"));
    }
    if (state->cancelled()) {
      Close();
      throw CancelledError(absl::StrCat("cf::MapResults: the task computing result #", chunk_start_,
                                        " was cancelled (was the executor shut down with "
                                        "cancel_futures?)"));
    }
    if (state->error() != nullptr) {
      std::exception_ptr error = state->error();
      Close();
      std::rethrow_exception(error);
    }
    current_ = std::move(next);
    position_ = 0;
  }

  std::unique_ptr<internal::MapSource<R>> source_;  // null once no more inputs will be pulled
  std::deque<internal::SubmittedChunk<R>> in_flight_;
  internal::SubmittedChunk<R> current_;  // the chunk being yielded
  absl::Time deadline_;
  int buffersize_ = 0;
  int position_ = 0;        // index of the current result inside current_
  size_t chunk_start_ = 0;  // index (in the whole input) of current_'s first result
  bool started_ = false;
  bool exhausted_ = false;
  [[no_unique_address]] std::conditional_t<std::is_void_v<R>, std::monostate, char> unit_{};
};

namespace internal {

// Builds the MapResults of an executor's Map() over one range or several zipped: validates
// nothing (the executor calls ValidateMapOptions first), starts the timeout clock and submits
// the first chunks (all of them when buffersize is 0). `submit` is described in
// cf/core/internal/map.h. If a submit throws, the chunks submitted so far are cancelled and the
// exception propagates.
template <typename R, typename SubmitFn, typename... Ranges>
MapResults<R> MakeMapResults(const MapOptions& options, SubmitFn submit, Ranges&&... inputs) {
  MapResults<R> results(std::make_unique<RangeMapSource<R, SubmitFn, Ranges...>>(
                            options.chunksize, std::move(submit), std::forward<Ranges>(inputs)...),
                        options);
  results.Prime(options.buffersize);
  return results;
}
// The same over one range, arguments in Map's order.
template <typename R, typename Range, typename SubmitFn>
MapResults<R> MakeMapResults(Range&& inputs, const MapOptions& options, SubmitFn submit) {
  return MakeMapResults<R>(options, std::move(submit), std::forward<Range>(inputs));
}

template <typename T>
constexpr bool kIsMapOptions = std::is_same_v<std::remove_cvref_t<T>, MapOptions>;

// What may follow the first two ranges of Map(fn, a, b, ...): more ranges, then optionally one
// MapOptions.
template <typename... Args>
struct MapRangesTail : std::true_type {};
template <typename A>
struct MapRangesTail<A> : std::bool_constant<std::ranges::input_range<A> || kIsMapOptions<A>> {};
template <typename A, typename B, typename... Rest>
struct MapRangesTail<A, B, Rest...>
    : std::bool_constant<std::ranges::input_range<A> && MapRangesTail<B, Rest...>::value> {};
template <typename A, typename B, typename... Rest>
constexpr bool kSeveralMapRanges =
    std::ranges::input_range<A> && std::ranges::input_range<B> && MapRangesTail<Rest...>::value;

// Calls map(options, ranges...) with the arguments of Map(fn, a, b, ...): the ranges, and the
// trailing MapOptions if there is one (default options otherwise).
template <typename MapFn, typename... Args>
decltype(auto) CallWithMapArgs(MapFn&& map, Args&&... args) {
  constexpr size_t n = sizeof...(Args);
  using Last = std::tuple_element_t<n - 1, std::tuple<Args...>>;
  if constexpr (kIsMapOptions<Last>) {
    std::tuple<Args&&...> all(std::forward<Args>(args)...);
    return [&]<size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
      return map(static_cast<const MapOptions&>(std::get<n - 1>(all)),
                 std::forward<std::tuple_element_t<I, std::tuple<Args...>>>(std::get<I>(all))...);
    }(std::make_index_sequence<n - 1>());
  } else {
    return map(MapOptions{}, std::forward<Args>(args)...);
  }
}

}  // namespace internal
}  // namespace cf

#endif  // CF_CORE_EXECUTOR_H_
