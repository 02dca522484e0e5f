// //tools:primes end to end, under each executor, on numbers whose answers are known.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/data_path.h"
#include "tests/tools/run_program.h"

namespace cf::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kLimitSeconds = 120;

// Known answers: small cases, a Carmichael number, primes near 1e6 and 1e12, and a product of
// two primes near 1e6 (trial division has to go all the way to the smaller factor).
const std::map<int64_t, bool>& Known() {
  static const auto* const known = new std::map<int64_t, bool>{
      {-7, false},          {0, false},           {1, false},
      {2, true},            {3, true},            {4, false},
      {9, false},           {97, true},           {561, false},
      {7919, true},         {1000003, true},      {1000005, false},
      {1000033, true},      {999999999989, true}, {1000036000099, false},  // 1000003 * 1000033
      {999999000001, true},
  };
  return *known;
}

// (number, P flag) in output order, from the lines "<n> <P or space> <seconds>s".
std::vector<std::pair<int64_t, bool>> ParseResults(const std::string& out) {
  std::vector<std::pair<int64_t, bool>> results;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "Total time:")) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t n = 0;
    EXPECT_TRUE(absl::SimpleAtoi(fields.front(), &n)) << line;
    EXPECT_TRUE(absl::EndsWith(fields.back(), "s")) << line;
    results.emplace_back(n, fields.size() == 3 && fields[1] == "P");
  }
  return results;
}

class PrimesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PrimesTest, KnownPrimesAndComposites) {
  std::vector<std::string> numbers;
  for (const auto& [n, prime] : Known()) numbers.push_back(absl::StrCat(n));
  const std::string args =
      absl::StrCat("--executor=", GetParam(), " --workers=2 --numbers=", absl::StrJoin(numbers, ","));
  const ProgramRun run = RunProgram(DataPath("CF_PRIMES"), args, kLimitSeconds);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto results = ParseResults(run.out);
  const std::map<int64_t, bool> answers(results.begin(), results.end());
  EXPECT_EQ(answers, Known()) << run.out;
  EXPECT_EQ(results.size(), Known().size());
  const int workers = GetParam() == "sequential" ? 1 : 2;
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat("(", Known().size(), " numbers, ", GetParam(), ", ",
                                              workers, " worker")));
  // Not a terminal: the progress bar prints plain lines on stderr, ending at 100%.
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("primes: ", Known().size(), "/", Known().size(),
                                              " (100%)")));
}

TEST_P(PrimesTest, OutputKeepsInputOrder) {
  const ProgramRun run = RunProgram(DataPath("CF_PRIMES"),
                                    absl::StrCat("--executor=", GetParam(),
                                                 " --progress=false --numbers=1000003,4,97,9"),
                                    kLimitSeconds);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(ParseResults(run.out),
              ::testing::ElementsAre(std::pair<int64_t, bool>(1000003, true),
                                     std::pair<int64_t, bool>(4, false),
                                     std::pair<int64_t, bool>(97, true),
                                     std::pair<int64_t, bool>(9, false)))
      << run.out;
  EXPECT_TRUE(run.err.empty()) << run.err;
}

INSTANTIATE_TEST_SUITE_P(Executors, PrimesTest,
                         ::testing::Values("process", "thread", "sequential"));

TEST(PrimesFlagsTest, BadInputSaysWhatToDo) {
  const std::string primes = DataPath("CF_PRIMES");
  ProgramRun run = RunProgram(primes, "--numbers=97,seven", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--numbers: 'seven' is not an integer"));
  run = RunProgram(primes, "--executor=gpu", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--executor=gpu is not known; use process, thread or sequential"));
  run = RunProgram(primes, "--workers=-1", kLimitSeconds);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--workers must be 0"));
}

}  // namespace
}  // namespace cf::testing
