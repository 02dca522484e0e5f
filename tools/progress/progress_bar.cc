#include "cf/tools/progress/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cf {
namespace {

bool IsTerminal(const ProgressBar::Options& o) {
  switch (o.mode) {
    case ProgressBar::Mode::kTerminal:
      return true;
    case ProgressBar::Mode::kPlain:
      return false;
    case ProgressBar::Mode::kAuto:
      break;
  }
  return !o.sink && o.out != nullptr && isatty(fileno(o.out));
}

// "0:07", "1:02:03", or "?" when unknown.
std::string FormatClock(absl::Duration d) {
  if (d < absl::ZeroDuration() || d == absl::InfiniteDuration()) return "?";
  const int64_t s = absl::ToInt64Seconds(d + absl::Milliseconds(500));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string Stats(int64_t done, int64_t total, absl::Duration elapsed, bool plain) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? done / seconds : 0.0;
  const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
  const std::string eta = (done >= total) ? "0:00"
                          : rate > 0      ? FormatClock(absl::Seconds((total - done) / rate))
                                          : "?";
  if (plain) {
    return absl::StrFormat("%d/%d (%d%%) %.1f/s ETA %s", done, total, percent, rate, eta);
  }
  const int digits = static_cast<int>(std::to_string(total).size());
  return absl::StrFormat("%*d/%d %3d%%  %.1f/s  ETA %s", digits, done, total, percent, rate, eta);
}

}  // namespace

ProgressBar::ProgressBar(int64_t total, Options options)
    : total_(total),
      options_(std::move(options)),
      terminal_(IsTerminal(options_)),
      start_(options_.clock ? options_.clock() : absl::Now()) {
  if (total < 0) throw std::invalid_argument("ProgressBar: total must be >= 0");
  if (options_.width < 1) throw std::invalid_argument("ProgressBar: width must be >= 1");
  absl::MutexLock lock(&mu_);
  DrawLocked(start_, /*final=*/false);
}

ProgressBar::~ProgressBar() { Finish(); }

int64_t ProgressBar::done() const {
  absl::MutexLock lock(&mu_);
  return done_;
}

void ProgressBar::Advance(int64_t n) {
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  done_ = std::min(total_, done_ + n);
  const absl::Duration interval = terminal_ ? options_.redraw_interval : options_.plain_interval;
  if (done_ == total_ || now - last_draw_ >= interval) DrawLocked(now, /*final=*/false);
}

void ProgressBar::Finish() {
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  DrawLocked(now, /*final=*/true);
}

void ProgressBar::DrawLocked(absl::Time now, bool final) {
  const absl::Duration elapsed = now - start_;
  if (terminal_) {
    // Erase to end of line after the text, so a shorter line leaves no debris.
    Emit(absl::StrCat("\r", RenderTerminal(options_.label, options_.width, done_, total_, elapsed),
                      "\x1b[K", final ? "\n" : ""));
  } else {
    // The final line is skipped when the completed state was printed already.
    if (final && last_drawn_done_ == done_ && done_ == total_) return;
    Emit(absl::StrCat(RenderPlain(options_.label, done_, total_, elapsed), "\n"));
  }
  last_draw_ = now;
  last_drawn_done_ = done_;
}

void ProgressBar::Emit(absl::string_view text) {
  if (options_.sink) {
    options_.sink(text);
    return;
  }
  std::fwrite(text.data(), 1, text.size(), options_.out);
  std::fflush(options_.out);
}

std::string ProgressBar::RenderTerminal(absl::string_view label, int width, int64_t done,
                                        int64_t total, absl::Duration elapsed) {
  const int filled =
      total > 0 ? static_cast<int>(static_cast<double>(width) * done / total) : width;
  return absl::StrCat(label, " [", std::string(filled, '#'), std::string(width - filled, '.'),
                      "] ", Stats(done, total, elapsed, /*plain=*/false));
}

std::string ProgressBar::RenderPlain(absl::string_view label, int64_t done, int64_t total,
                                     absl::Duration elapsed) {
  return absl::StrCat(label, ": ", Stats(done, total, elapsed, /*plain=*/true));
}

}  // namespace cf
