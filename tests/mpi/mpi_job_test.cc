// A worker rank that dies in an SPMD job: Open MPI aborts the whole job (mpi_pool_executor.h
// says why), promptly and saying so; nothing is left waiting. Runs
// `run_mpi.sh 3 mpi_pool_test --gtest_filter=WorldKillTest.*` and reads what mpirun reports.
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/data_path.h"
#include "tests/mpi/run_under_mpi.h"

namespace {

TEST(MpiJobTest, EveryRankExitsCleanlyWhenRankZeroEnds) {
  const absl::Time start = absl::Now();
  const cf::testing::MpiRun run = cf::testing::RunUnderMpi(
      "3", cf::testing::DataPath("CF_MPI_POOL_TEST"),
      "--gtest_filter=WorldTest.ExecutorsTakeTurnsOnTheRanks", /*limit_seconds=*/60);
  // mpirun exits 0 only when every rank exited 0, after MPI_Finalize.
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("[  PASSED  ] 1 test"), std::string::npos) << run.output;
  EXPECT_LT(absl::Now() - start, absl::Seconds(60));
}

TEST(MpiJobTest, AKilledRankMakesOpenMpiAbortTheJobSayingWhich) {
  const absl::Time start = absl::Now();
  const cf::testing::MpiRun run =
      cf::testing::RunUnderMpi("3", cf::testing::DataPath("CF_MPI_POOL_TEST"),
                               "--gtest_filter=WorldKillTest.*", /*limit_seconds=*/60);
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.exit_code, 124) << "timed out (hung):\n" << run.output;
  EXPECT_NE(run.output.find("exited on signal 9"), std::string::npos) << run.output;
  EXPECT_LT(absl::Now() - start, absl::Seconds(60));
}

}  // namespace
