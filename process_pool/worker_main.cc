// main() of a dedicated worker program (see cf_worker_binary in process_pool/defs.bzl): it only
// ever runs as a process-pool worker or fork server, started through
// ProcessPoolExecutor::Options::worker_binary.
#include <cstdio>

#include "cf/process_pool/process_pool_executor.h"

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);  // never returns in a worker or fork server
  std::fprintf(stderr,
               "%s is a cf process-pool worker program: a ProcessPoolExecutor starts it (set "
               "Options::worker_binary to its path); it does nothing on its own.\n",
               argc > 0 ? argv[0] : "this program");
  return 2;
}
