"""cf's external repositories, all bound offline.

`cf_dependencies()` defines each repository only when the calling WORKSPACE has not defined it
already, so a monorepo that brings its own Abseil, GoogleTest or Benchmark keeps them.

Where things come from (see ./bazelw, which puts them in place):
  @rules_cc, @rules_java, @remote_coverage_tools  small local stand-ins under third_party/
  @bazel_skylib, @platforms                       Debian's bazel-skylib and bazel-platforms
  @com_google_absl, @com_google_googletest,       Debian's source packages abseil, googletest and
  @com_github_google_benchmark                    benchmark, unpacked by ./bazelw into deps_dir
                                                  (abseil with third_party/abseil/*.patch,
                                                  needed for GCC 16)
  @cereal                                         Debian's libcereal-dev headers
  @boost, @tbb                                    Debian's libboost-thread-dev and libtbb-dev
                                                  (benchmark peers only; without them the
                                                  benchmarks that need them are skipped, see
                                                  third_party/system_library.bzl)
  @openmpi                                        Debian's libopenmpi-dev, for //mpi only
                                                  (without it //mpi is skipped the same way)

MODULE.bazel is the same set under Bzlmod (Bazel 7+), with the Central Registry's module names.
"""

load("//third_party:system_library.bzl", "cf_mpi_library", "cf_system_libraries")

# Folder names inside deps_dir, as the upstream tarballs unpack.
ABSL_DIR = "abseil-20220623.1"
GOOGLETEST_DIR = "googletest-release-1.12.1"
BENCHMARK_DIR = "benchmark-1.7.1"

def _maybe(rule, name, **kwargs):
    if name not in native.existing_rules():
        rule(name = name, **kwargs)

def cf_dependencies(
        cf_root = "",
        deps_dir = "third_party/deps",
        system_include = "/usr/include",
        system_lib = "/usr/lib/x86_64-linux-gnu"):
    """Defines every repository cf needs that the caller has not defined.

    Args:
      cf_root: path of the cf checkout relative to the main WORKSPACE ("" when cf is the main
        repository).
      deps_dir: where ./bazelw unpacked the Debian source packages, relative to cf_root.
      system_include: where Debian's -dev packages put headers.
      system_lib: where Debian's -dev packages put libraries.
    """
    root = cf_root + "/" if cf_root else ""
    _maybe(native.local_repository, "rules_cc", path = root + "third_party/rules_cc")
    _maybe(native.local_repository, "rules_java", path = root + "third_party/rules_java")
    _maybe(
        native.local_repository,
        "remote_coverage_tools",
        path = root + "third_party/remote_coverage_tools",
    )
    _maybe(native.local_repository, "bazel_skylib", path = "/usr/share/bazel/tools/skylib")
    _maybe(native.local_repository, "platforms", path = "/usr/share/bazel/tools/platforms")
    _maybe(native.local_repository, "com_google_absl", path = root + deps_dir + "/" + ABSL_DIR)
    _maybe(
        native.local_repository,
        "com_google_googletest",
        path = root + deps_dir + "/" + GOOGLETEST_DIR,
    )
    _maybe(
        native.local_repository,
        "com_github_google_benchmark",
        path = root + deps_dir + "/" + BENCHMARK_DIR,
    )
    _maybe(
        native.new_local_repository,
        "cereal",
        path = system_include,
        build_file = str(Label("//third_party:cereal.BUILD")),
    )
    cf_system_libraries(system_include, skip = native.existing_rules())
    if "openmpi" not in native.existing_rules():
        cf_mpi_library(system_lib = system_lib)
