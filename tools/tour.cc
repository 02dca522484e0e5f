// //tools:tour — every example of the seed tutorials (docs/tutorials.md), in C++, with real output.
//
//   ./bazelw run //tools:tour                          # the whole tour, well under 15 s
//   ./bazelw run //tools:tour -- --list                # the sections
//   ./bazelw run //tools:tour -- --section=cancel      # one section
//
// Each section prints a heading line "== name: what it shows", its output (indented) and a
// "Notice:" line saying what to look at. Sections check their own claims; a failed check (or
// any exception) prints "== name: FAILED: why" and the tour exits 1. The sections live in
// tools/tour/: basics.cc (threads and futures), processes.cc (ProcessPoolExecutor) and
// patterns.cc (the tutorials' patterns and programs).
//
// main() calls cf::InitProcessPool first: the process-pool sections start this program again as
// their workers (cf's default start method then is kForkServer).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "cf/futures.h"
#include "tools/tour/tour.h"

ABSL_FLAG(std::string, section, "", "Run only this section (see --list).");
ABSL_FLAG(bool, list, false, "List the sections and exit.");

namespace {

std::vector<cf::tour::Section> AllSections() {
  std::vector<cf::tour::Section> all;
  for (auto part : {cf::tour::BasicsSections, cf::tour::ErrorsSections,
                    cf::tour::ProcessesSections, cf::tour::PatternsSections,
                    cf::tour::ProgramsSections, cf::tour::SurvivalSections}) {
    for (const cf::tour::Section& s : part()) all.push_back(s);
  }
  return all;
}

// Runs one section; false if it failed.
bool Run(const cf::tour::Section& section) {
  std::printf("== %s: %s\n", section.name, section.heading);
  std::fflush(stdout);
  std::string failure;
  try {
    section.run();
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "an exception that is not a std::exception";
  }
  if (!failure.empty()) std::printf("== %s: FAILED: %s\n", section.name, failure.c_str());
  std::printf("\n");
  std::fflush(stdout);
  return failure.empty();
}

}  // namespace

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  absl::SetProgramUsageMessage(
      "A tour of cf, Python's concurrent.futures in C++: tour [--list] [--section=NAME]");
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines from worker threads stay whole and ordered

  const std::vector<cf::tour::Section> sections = AllSections();
  if (absl::GetFlag(FLAGS_list)) {
    for (const cf::tour::Section& s : sections) std::printf("%-16s %s\n", s.name, s.heading);
    return 0;
  }
  const std::string only = absl::GetFlag(FLAGS_section);
  int ran = 0, failed = 0;
  const cf::tour::Stopwatch clock;
  for (const cf::tour::Section& s : sections) {
    if (!only.empty() && only != s.name) continue;
    ++ran;
    if (!Run(s)) ++failed;
  }
  if (ran == 0) {
    std::fprintf(stderr, "tour: no section named '%s'; --list shows them\n", only.c_str());
    return 2;
  }
  if (ran > 1 || failed > 0) {
    std::printf("%d sections in %.1f s%s\n", ran, clock.Seconds(),
                failed > 0 ? absl::StrFormat(", %d FAILED", failed).c_str() : "");
  }
  return failed > 0 ? 1 : 0;
}
