"""Module extensions for MODULE.bazel (Bzlmod only: Bazel 4 cannot load this file).

system_libraries: @boost and @tbb, the benchmark peers, from Debian's libboost-thread-dev and
libtbb-dev on the machine that builds (see system_library.bzl). The Central Registry's boost
modules build Boost from source; cf's benchmarks compare against the distribution's Boost, so
they link the installed one.

mpi: @openmpi, Debian's libopenmpi-dev, for //mpi only (see system_library.bzl). Not a dev
dependency: a module that uses @cf//mpi needs it; one that does not never evaluates it.
"""

load(":system_library.bzl", "cf_mpi_library", "cf_system_libraries")

def _system_libraries_impl(_module_ctx):
    cf_system_libraries()

system_libraries = module_extension(implementation = _system_libraries_impl)

def _mpi_impl(_module_ctx):
    cf_mpi_library()

mpi = module_extension(implementation = _mpi_impl)
