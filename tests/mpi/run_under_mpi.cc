#include "tests/mpi/run_under_mpi.h"

#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/data_path.h"

namespace cf::testing {

MpiRun RunUnderMpi(const std::string& np, const std::string& program, const std::string& args,
                   int limit_seconds) {
  const std::string command =
      absl::StrCat("env -u XML_OUTPUT_FILE -u GTEST_OUTPUT CF_MPI_TEST_LIMIT=", limit_seconds,
                   " ", DataPath("CF_RUN_MPI"), " ", np, " ", program, " ", args, " 2>&1");
  MpiRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) {
    run.output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

}  // namespace cf::testing
