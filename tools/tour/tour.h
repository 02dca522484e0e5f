// tools/tour/tour.h — what the tour's sections share.
//
// A section is one example (or a few close ones) from the seed tutorials (docs/tutorials.md,
// which also explains the "seed NNN" numbers in the sections' comments), rewritten with cf. The
// runner (tools/tour.cc) prints its heading, "== name: heading", then runs it; the section
// prints indented lines with Say() and ends with Notice(): what to look at in the output. A
// section checks its own claims with Check(): a failed check throws TourError, the runner
// reports "FAILED" and the tour exits 1 — so the tour doubles as an end-to-end test.
//
// Time is scaled: the tutorials sleep whole seconds, the tour sleeps TutorialSeconds(s), 40 ms
// per tutorial second, so the whole tour stays well under 15 s.
//
// Thread safety: Say() and Notice() may be called from any thread (one printf per line).
#ifndef CF_TOOLS_TOUR_TOUR_H_
#define CF_TOOLS_TOUR_TOUR_H_

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cf::tour {

struct Section {
  const char* name;     // for --section=NAME
  const char* heading;  // one line: what the section shows
  void (*run)();
};

// The sections of each file, in tour order.
std::vector<Section> BasicsSections();     // basics.cc: threads, futures, waiting, callbacks
std::vector<Section> ErrorsSections();     // errors.cc: errors, timeouts, lifetime, options
std::vector<Section> ProcessesSections();  // processes.cc: ProcessPoolExecutor, CPU-bound work
std::vector<Section> PatternsSections();   // patterns.cc: the tutorials' patterns
std::vector<Section> ProgramsSections();   // programs.cc: the tutorials' small programs
std::vector<Section> SurvivalSections();   // survival.cc: timeouts, deaths, deadlines, stats

// One tutorial second, scaled down.
inline constexpr absl::Duration kTutorialSecond = absl::Milliseconds(40);
inline absl::Duration TutorialSeconds(double s) { return kTutorialSecond * s; }
inline void SleepTutorialSeconds(double s) { absl::SleepFor(TutorialSeconds(s)); }
// A bound for waits that only a bug could reach (a section never hangs).
inline constexpr absl::Duration kBound = absl::Seconds(30);

class TourError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void SayLine(absl::string_view line);
// Prints one indented line. GCC does not check absl format strings at compile time, and a
// mismatched one formats as ""; Say throws TourError instead, so the tour fails loudly.
template <typename... Args>
void Say(const absl::FormatSpec<Args...>& format, const Args&... args) {
  std::string line = absl::StrFormat(format, args...);
  if (line.empty()) throw TourError("a Say() format string does not match its arguments");
  SayLine(line);
}
// "Notice: <text>", the section's last line.
void Notice(absl::string_view text);

// Throws TourError("check failed: <what>") unless ok.
void Check(bool ok, absl::string_view what);

// A gate that tasks wait at (Pass) until the section opens it; AwaitArrivals(n) blocks until n
// tasks have arrived, which makes "these tasks are running now" deterministic without sleeping.
// Both waits are bounded by kBound. Open() is idempotent.
//
// Lifetime: tasks touch the gate until they return, so declare it before the executor and open
// it at scope exit after the executor (absl::Cleanup declared after it): then a section that
// stops early, on a failed Check, still lets its tasks go before the executor waits for them.
//   Gate gate;
//   ThreadPoolExecutor pool(2);
//   absl::Cleanup open_gate = [&gate] { gate.Open(); };
class Gate {
 public:
  void Arrive();
  void Pass();  // Arrive, then wait until open
  void AwaitArrivals(int n);  // Check-fails after kBound
  void Open();

 private:
  absl::Mutex mu_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
};

// The calling thread's name, e.g. "ThreadPoolExecutor-0_1" in a pool worker.
std::string ThreadName();

// Milliseconds since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(absl::Now()) {}
  double Millis() const { return absl::ToDoubleMilliseconds(absl::Now() - start_); }
  double Seconds() const { return absl::ToDoubleSeconds(absl::Now() - start_); }

 private:
  absl::Time start_;
};

// The message of an exception_ptr's exception ("" for null).
std::string What(const std::exception_ptr& error);

}  // namespace cf::tour

#endif  // CF_TOOLS_TOUR_TOUR_H_
