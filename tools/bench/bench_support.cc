#include "tools/bench/bench_support.h"

#include <algorithm>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace cf::bench {
namespace {

double TimeUnitNanoseconds(benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return 1;
    case benchmark::kMicrosecond:
      return 1e3;
    case benchmark::kMillisecond:
      return 1e6;
    case benchmark::kSecond:
      return 1e9;
  }
  return 1;
}

}  // namespace

bool HasFlag(const std::vector<char*>& args, const std::string& flag) {
  return std::any_of(args.begin() + 1, args.end(), [&flag](const char* a) {
    const std::string arg = a;
    return arg == flag || arg.rfind(flag + "=", 0) == 0;
  });
}

bool TakeFlag(std::vector<char*>& args, const std::string& flag) {
  const auto end = std::remove_if(args.begin() + 1, args.end(),
                                  [&flag](const char* a) { return flag == a; });
  const bool found = end != args.end();
  args.erase(end, args.end());
  return found;
}

void MedianReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
    if (run.run_type != Run::RT_Iteration && !median) continue;
    Figures& f = figures_[run.run_name.str()];
    if (f.from_median && !median) continue;
    f.from_median = median;
    f.real_time_ns = run.GetAdjustedRealTime() * TimeUnitNanoseconds(run.time_unit);
    for (const auto& [name, counter] : run.counters) f.counters[name] = counter.value;
  }
  ConsoleReporter::ReportRuns(runs);
}

const MedianReporter::Figures* MedianReporter::Find(const std::string& prefix) const {
  for (const auto& [name, figures] : figures_) {
    if (name == prefix || name.rfind(prefix + "/", 0) == 0) return &figures;
  }
  return nullptr;
}

double MedianReporter::Counter(const std::string& prefix, const std::string& name) const {
  const Figures* f = Find(prefix);
  if (f == nullptr) return 0;
  const auto it = f->counters.find(name);
  return it == f->counters.end() ? 0 : it->second;
}

}  // namespace cf::bench
