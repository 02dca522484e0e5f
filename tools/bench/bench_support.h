// tools/bench/bench_support.h — what cf's Google Benchmark binaries share: their own boolean
// flags (taken out of argv before Google Benchmark reads it), and a console reporter that keeps
// each benchmark's median (or only run) for a summary printed after the usual output.
//
// Single-threaded use, from main() and the benchmark library's reporting thread.
#ifndef CF_TOOLS_BENCH_BENCH_SUPPORT_H_
#define CF_TOOLS_BENCH_BENCH_SUPPORT_H_

#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace cf::bench {

// Whether args (after the program name) hold `flag`, alone or as `flag=value`.
bool HasFlag(const std::vector<char*>& args, const std::string& flag);

// Removes every `flag` (exactly) from args after the program name; true if there was one.
bool TakeFlag(std::vector<char*>& args, const std::string& flag);

// Prints the usual console output and remembers, per benchmark, the median over repetitions
// when there are several, else the run itself.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  struct Figures {
    double real_time_ns = 0;
    std::map<std::string, double> counters;
    bool from_median = false;
  };

  void ReportRuns(const std::vector<Run>& runs) override;

  // The figures of the benchmark named `prefix` ("BM_Cf_Submit200kNoop", without the
  // "/real_time" and other suffixes), or nullptr if it did not run.
  const Figures* Find(const std::string& prefix) const;
  // Its counter `name`, or 0 if it did not run or has no such counter.
  double Counter(const std::string& prefix, const std::string& name) const;

 private:
  std::map<std::string, Figures> figures_;
};

}  // namespace cf::bench

#endif  // CF_TOOLS_BENCH_BENCH_SUPPORT_H_
