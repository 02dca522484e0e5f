// //tools:primes — the seed tutorials' multicore prime checker (seed 002 in docs/tutorials.md).
//
//   ./bazelw run --config=opt //tools:primes -- --executor=process --workers=2
//   ./bazelw run //tools:primes -- --executor=sequential --numbers=97,1000003,1000005
//
// Checks each number by trial division (cf::tools::IsPrime) with the chosen executor. While the
// checks run, a cf::ProgressBar on stderr counts them as they finish (cf::AsCompleted); then one
// line per number, in input order — the number, "P" if it is prime, and how long its check took
// where it ran — and the total time. Exit status 2 for bad flags.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/futures.h"
#include "cf/tools/prime_check.h"
#include "cf/tools/progress/progress_bar.h"

ABSL_FLAG(std::string, executor, "process", "process, thread or sequential.");
ABSL_FLAG(int, workers, 0,
          "Workers of the pool (0: the executor's default: CPUs for processes, min(32, CPUs + 4) "
          "for threads). Ignored by --executor=sequential.");
ABSL_FLAG(std::string, numbers, "",
          "Comma-separated integers to check (default: the tutorial's list of 20 numbers up to "
          "1e16: 0.7 s of trial division on one core, --config=opt).");
ABSL_FLAG(bool, progress, true, "Show a progress bar on stderr.");

namespace {

using cf::tools::PrimeResult;

int Fail(const std::string& message) {
  std::fprintf(stderr, "primes: %s\n", message.c_str());
  return 2;
}

// Parses --numbers; an error message names the bad item.
bool ParseNumbers(absl::string_view text, std::vector<int64_t>* out, std::string* error) {
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(item, &n)) {
      *error = absl::StrFormat(
          "--numbers: '%s' is not an integer; pass integers separated by commas, e.g. "
          "--numbers=97,1000003",
          item);
      return false;
    }
    out->push_back(n);
  }
  if (out->empty()) {
    *error = "--numbers is empty; pass integers separated by commas, e.g. --numbers=97,1000003";
    return false;
  }
  return true;
}

void PrintResult(const PrimeResult& r) {
  std::printf("%16lld %c %9.6fs\n", static_cast<long long>(r.n), r.prime ? 'P' : ' ',
              r.seconds);
  std::fflush(stdout);
}

// Submits every check, advances the bar as checks finish, prints in input order.
template <typename Executor, typename SubmitFn>
void RunPool(Executor& executor, const std::vector<int64_t>& numbers, SubmitFn submit,
             cf::ProgressBar* bar) {
  std::vector<cf::Future<PrimeResult>> futures;
  futures.reserve(numbers.size());
  for (int64_t n : numbers) futures.push_back(submit(executor, n));
  if (bar != nullptr) {
    for (const auto& f : cf::AsCompleted(futures)) {
      (void)f;
      bar->Advance();
    }
    bar->Finish();
  }
  for (const auto& f : futures) PrintResult(f.Result());
}

}  // namespace

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  absl::SetProgramUsageMessage(
      "The tutorials' multicore prime checker: primes --executor=process|thread|sequential "
      "[--workers=N] [--numbers=a,b,c]");
  absl::ParseCommandLine(argc, argv);

  std::vector<int64_t> numbers = cf::tools::TutorialNumbers();
  if (const std::string text = absl::GetFlag(FLAGS_numbers); !text.empty()) {
    numbers.clear();
    std::string error;
    if (!ParseNumbers(text, &numbers, &error)) return Fail(error);
  }
  const std::string executor = absl::GetFlag(FLAGS_executor);
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 0) return Fail("--workers must be 0 (the default) or more");
  if (executor != "process" && executor != "thread" && executor != "sequential") {
    return Fail(absl::StrFormat(
        "--executor=%s is not known; use process, thread or sequential", executor));
  }

  std::optional<cf::ProgressBar> bar;
  if (absl::GetFlag(FLAGS_progress)) {
    bar.emplace(static_cast<int64_t>(numbers.size()),
                cf::ProgressBar::Options{.label = "primes", .out = stderr});
  }
  cf::ProgressBar* progress = bar.has_value() ? &*bar : nullptr;
  const absl::Time start = absl::Now();
  int used_workers = 1;
  if (executor == "sequential") {
    std::vector<PrimeResult> results;
    for (int64_t n : numbers) {
      results.push_back(cf::tools::CheckPrime(n));
      if (progress != nullptr) progress->Advance();
    }
    if (progress != nullptr) progress->Finish();
    for (const PrimeResult& r : results) PrintResult(r);
  } else if (executor == "thread") {
    cf::ThreadPoolExecutor pool({.max_workers = workers});
    used_workers = pool.max_workers();
    RunPool(pool, numbers,
            [](cf::ThreadPoolExecutor& p, int64_t n) { return p.Submit(&cf::tools::CheckPrime, n); },
            progress);
  } else {
    cf::ProcessPoolExecutor pool({.max_workers = workers});
    used_workers = pool.max_workers();
    RunPool(pool, numbers,
            [](cf::ProcessPoolExecutor& p, int64_t n) { return p.Submit(&cf::tools::CheckPrime, n); },
            progress);
  }
  std::printf("Total time: %.3fs (%zu numbers, %s, %d worker%s)\n",
              absl::ToDoubleSeconds(absl::Now() - start), numbers.size(), executor.c_str(),
              used_workers, used_workers == 1 ? "" : "s");
  return 0;
}
