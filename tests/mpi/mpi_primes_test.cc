// //tools:mpi_primes on 3 ranks: the tutorials' prime checker, its calls run by ranks 1 and 2.
#include <string>

#include "gtest/gtest.h"
#include "tests/data_path.h"
#include "tests/mpi/run_under_mpi.h"

namespace {

TEST(MpiPrimesTest, ChecksOnThreeRanks) {
  const cf::testing::MpiRun run = cf::testing::RunUnderMpi(
      "3", cf::testing::DataPath("CF_MPI_PRIMES"),
      "--numbers=97,1000003,1000005,112272535095293,1", /*limit_seconds=*/120);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("              97 P"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("         1000003 P"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("         1000005  "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(" 112272535095293 P"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("(5 numbers, 2 MPI workers)"), std::string::npos) << run.output;
}

TEST(MpiPrimesTest, TheTutorialListOnThreeRanks) {
  const cf::testing::MpiRun run =
      cf::testing::RunUnderMpi("3", cf::testing::DataPath("CF_MPI_PRIMES"), "", 240);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("(20 numbers, 2 MPI workers)"), std::string::npos) << run.output;
}

}  // namespace
