// cf/tools/progress/progress_bar.h — a small progress bar for loops over cf::AsCompleted.
//
// On a terminal it redraws one line in place:
//   primes [############............]  12/25  48%  3.9/s  ETA 0:03
// When the output is not a terminal (a log, a pipe, CI) it prints a plain line at most once per
// `plain_interval`, plus one at the end:
//   primes: 12/25 (48%) 3.9/s ETA 0:03
//
// Usage:
//   cf::ProgressBar bar(futures.size(), {.label = "primes"});
//   for (const auto& f : cf::AsCompleted(futures)) { use(f.Result()); bar.Advance(); }
//   bar.Finish();
//
// Thread safety: Advance() may be called from any thread (e.g. from done-callbacks); output is
// serialised. The clock and the sink are injectable so tests can check exact lines.
#ifndef CF_TOOLS_PROGRESS_PROGRESS_BAR_H_
#define CF_TOOLS_PROGRESS_PROGRESS_BAR_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cf {

class ProgressBar {
 public:
  enum class Mode { kAuto, kTerminal, kPlain };
  struct Options {
    std::string label = "progress";
    int width = 24;                                // characters inside the brackets
    Mode mode = Mode::kAuto;                       // kAuto: kTerminal iff `out` is a tty
    std::FILE* out = stderr;                       // where lines go unless `sink` is set
    absl::Duration plain_interval = absl::Seconds(1);
    absl::Duration redraw_interval = absl::Milliseconds(50);  // terminal redraw throttle
    std::function<absl::Time()> clock{};           // default absl::Now
    std::function<void(absl::string_view)> sink{}; // default: fputs to `out`
  };

  // `total` must be >= 0 (std::invalid_argument otherwise). Draws the initial state.
  ProgressBar(int64_t total, Options options);
  explicit ProgressBar(int64_t total) : ProgressBar(total, Options()) {}
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // Finishes if Finish() was not called.
  ~ProgressBar();

  // Records `n` more completed items and redraws when due.
  void Advance(int64_t n = 1);
  // Draws the final state (a newline ends the terminal line). Idempotent.
  void Finish();

  int64_t done() const;
  bool terminal() const { return terminal_; }

  // The text of the line for `done` of `total` after `elapsed` (no "\r" or "\n"); public so tests
  // can check the format.
  static std::string RenderTerminal(absl::string_view label, int width, int64_t done,
                                    int64_t total, absl::Duration elapsed);
  static std::string RenderPlain(absl::string_view label, int64_t done, int64_t total,
                                 absl::Duration elapsed);

 private:
  void DrawLocked(absl::Time now, bool final) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Emit(absl::string_view text);

  const int64_t total_;
  const Options options_;
  const bool terminal_;
  const absl::Time start_;
  mutable absl::Mutex mu_;
  int64_t done_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_draw_ ABSL_GUARDED_BY(mu_);
  int64_t last_drawn_done_ ABSL_GUARDED_BY(mu_) = -1;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cf

#endif  // CF_TOOLS_PROGRESS_PROGRESS_BAR_H_
