// A worker rank that dies in an SPMD job: Open MPI aborts the whole job (mpi_pool_executor.h
// says why), promptly and saying so; nothing is left waiting. Runs
// `run_mpi.sh 3 mpi_pool_test --gtest_filter=WorldKillTest.*` and reads what mpirun reports.
#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/data_path.h"

namespace {

TEST(KilledRankTest, OpenMpiAbortsTheJobAndSaysWhichRank) {
  const std::string runner = cf::testing::DataPath("CF_RUN_MPI");
  const std::string program = cf::testing::DataPath("CF_MPI_POOL_TEST");
  // The inner GoogleTest must not overwrite this test's XML.
  const std::string command =
      absl::StrCat("env -u XML_OUTPUT_FILE -u GTEST_OUTPUT CF_MPI_TEST_LIMIT=60 ", runner, " 3 ",
                   program, " --gtest_filter=WorldKillTest.* 2>&1");
  const absl::Time start = absl::Now();
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  const int code = WEXITSTATUS(status);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, 124) << "timed out (hung):\n" << out;
  EXPECT_NE(out.find("exited on signal 9"), std::string::npos) << out;
  EXPECT_LT(absl::Now() - start, absl::Seconds(60));
}

}  // namespace
