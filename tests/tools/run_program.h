// tests/tools/run_program.h — runs one of the tools' programs from a test, bounded in time.
#ifndef CF_TESTS_TOOLS_RUN_PROGRAM_H_
#define CF_TESTS_TOOLS_RUN_PROGRAM_H_

#include <string>

namespace cf::testing {

struct ProgramRun {
  int exit_code = -1;  // 124 when the time limit killed it (coreutils timeout)
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs `program args` (args are passed through the shell unquoted, so keep them simple) with a
// limit of `limit_seconds`, after which it is killed.
ProgramRun RunProgram(const std::string& program, const std::string& args, int limit_seconds);

}  // namespace cf::testing

#endif  // CF_TESTS_TOOLS_RUN_PROGRAM_H_
