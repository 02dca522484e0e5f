#include "tests/tools/run_program.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace cf::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ProgramRun RunProgram(const std::string& program, const std::string& args, int limit_seconds) {
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string base = absl::StrCat(dir, "/run_", getpid(), "_", rand());
  const std::string out_path = base + ".out", err_path = base + ".err";
  const std::string command = absl::StrCat("timeout -k 5 ", limit_seconds, " ", program, " ",
                                           args, " >", out_path, " 2>", err_path, " </dev/null");
  const int status = system(command.c_str());
  ProgramRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = ReadFile(out_path);
  run.err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return run;
}

}  // namespace cf::testing
