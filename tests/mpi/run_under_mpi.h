// tests/mpi/run_under_mpi.h — runs a program through run_mpi.sh from a test, bounded in time.
#ifndef CF_TESTS_MPI_RUN_UNDER_MPI_H_
#define CF_TESTS_MPI_RUN_UNDER_MPI_H_

#include <string>

namespace cf::testing {

struct MpiRun {
  int exit_code = -1;  // 124: the time limit ended it (a hang)
  std::string output;  // stdout and stderr, interleaved
};

// `run_mpi.sh np program args` (CF_RUN_MPI names run_mpi.sh), with CF_MPI_TEST_LIMIT =
// limit_seconds and without this test's XML_OUTPUT_FILE (an inner GoogleTest must not write
// over it). args pass through the shell unquoted.
MpiRun RunUnderMpi(const std::string& np, const std::string& program, const std::string& args,
                   int limit_seconds);

}  // namespace cf::testing

#endif  // CF_TESTS_MPI_RUN_UNDER_MPI_H_
