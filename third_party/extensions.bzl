"""Module extensions for MODULE.bazel (Bzlmod only: Bazel 4 cannot load this file).

system_libraries: @boost and @tbb, the benchmark peers, from Debian's libboost-thread-dev and
libtbb-dev on the machine that builds (see system_library.bzl). The Central Registry's boost
modules build Boost from source; cf's benchmarks compare against the distribution's Boost, so
they link the installed one.
"""

load(":system_library.bzl", "cf_system_libraries")

def _system_libraries_impl(_module_ctx):
    cf_system_libraries()

system_libraries = module_extension(implementation = _system_libraries_impl)
