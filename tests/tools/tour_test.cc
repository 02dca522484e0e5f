// //tools:tour end to end: every section runs and checks its own claims (a failed check makes
// the tour print "FAILED" and exit 1), and the output has each section's heading.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/data_path.h"
#include "tests/tools/run_program.h"

namespace cf::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

constexpr int kLimitSeconds = 240;  // the tour takes ~4 s; sanitizers slow it down

std::string Tour() { return DataPath("CF_TOUR"); }

// (name, heading) of every section, from --list.
std::vector<std::pair<std::string, std::string>> ListSections() {
  const ProgramRun run = RunProgram(Tour(), "--list", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::pair<std::string, std::string>> sections;
  for (absl::string_view line : absl::StrSplit(run.out, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> entry = absl::StrSplit(line, absl::MaxSplits(' ', 1));
    entry.second = std::string(absl::StripLeadingAsciiWhitespace(entry.second));
    sections.push_back(std::move(entry));
  }
  return sections;
}

TEST(TourTest, ListsTheSeedTutorialsExamples) {
  std::vector<std::string> names;
  for (const auto& [name, heading] : ListSections()) {
    EXPECT_FALSE(heading.empty()) << name;
    names.push_back(name);
  }
  // The examples issue 6 names, at least.
  EXPECT_THAT(names, IsSupersetOf({"map_order", "submit", "as_completed", "callbacks", "cancel",
                                   "exceptions", "scoped_executor", "process_map",
                                   "process_broken", "timeouts", "first_completed",
                                   "map_chunksize", "cpu_bound", "pipeline", "map_reduce",
                                   "rate_limited", "retry", "progress", "batches"}));
  // Issue 11's pipeline with continuations and coroutines.
  EXPECT_THAT(names, ::testing::Contains("pipeline_then"));
}

TEST(TourTest, RunsEverySectionSuccessfully) {
  const auto sections = ListSections();
  ASSERT_FALSE(sections.empty());
  const ProgramRun run = RunProgram(Tour(), "", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, Not(ContainsRegex("\n== [a-z_]+: FAILED")));
  for (const auto& [name, heading] : sections) {
    const std::string line = absl::StrCat("== ", name, ": ", heading, "\n");
    const size_t at = run.out.find(line);
    ASSERT_NE(at, std::string::npos) << "no heading for " << name << " in:\n" << run.out;
    // The section's own lines end with what to notice, before the next heading.
    const size_t next = run.out.find("\n== ", at + line.size());
    EXPECT_THAT(run.out.substr(at, next - at), HasSubstr("\n   Notice: ")) << name;
  }
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat(sections.size(), " sections in ")));
}

TEST(TourTest, RunsThePipelineWithThenAndCoAwait) {
  const ProgramRun run = RunProgram(Tour(), "--section=pipeline_then", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("with ThenValue:  [144, 196, 256, 324, 400]\n"));
  EXPECT_THAT(run.out, HasSubstr("with co_await:   [144, 196, 256, 324, 400]\n"));
}

TEST(TourTest, RunsOneSection) {
  const ProgramRun run = RunProgram(Tour(), "--section=cancel", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("== cancel: "));
  EXPECT_THAT(run.out, HasSubstr("main: did not cancel 9\n"));
  EXPECT_THAT(run.out, HasSubstr("1: canceled\n"));
  EXPECT_THAT(run.out, Not(HasSubstr("== submit: ")));
}

TEST(TourTest, UnknownSectionIsAnError) {
  const ProgramRun run = RunProgram(Tour(), "--section=no_such_section", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("no section named 'no_such_section'; --list shows them"));
}

}  // namespace
}  // namespace cf::testing
