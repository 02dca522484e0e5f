// tests/data_path.h — where a test finds a program it has as data, whichever workspace it runs in.
//
// The test's BUILD target names the program in an environment variable with $(rootpath):
//
//   cf_cc_test(name = "tour_test", data = ["//tools:tour"],
//              env = {"CF_TOUR": "$(rootpath //tools:tour)"}, ...)
//   std::string tour = cf::testing::DataPath("CF_TOUR");
//
// $(rootpath) is relative to the folder `bazel test` starts a test in (the main workspace's
// runfiles folder): "tools/tour" when cf is the main workspace, "../cf/tools/tour" when another
// workspace tests @cf//... (docs/consuming.md §6). Never build the path from TEST_WORKSPACE: that
// is the main workspace's name, not cf's.
#ifndef CF_TESTS_DATA_PATH_H_
#define CF_TESTS_DATA_PATH_H_

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace cf::testing {

// The absolute path of the data file named by environment variable `env_var`. Throws
// std::runtime_error if it is unset (the test runs outside `bazel test`, or its BUILD target
// lacks the env entry).
inline std::string DataPath(const char* env_var) {
  const char* path = std::getenv(env_var);
  if (path == nullptr || *path == '\0') {
    throw std::runtime_error(std::string(env_var) +
                             " is unset: run this test with bazel test (its BUILD target sets it "
                             "with $(rootpath ...))");
  }
  return std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace cf::testing

#endif  // CF_TESTS_DATA_PATH_H_
