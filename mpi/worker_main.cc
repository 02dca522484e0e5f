// main() of a dedicated MPI worker program (//mpi:worker_main): it only serves calls.
#include <cstdio>

#include "cf/mpi/mpi_pool_executor.h"

int main(int argc, char** argv) {
  cf::InitMpiPool(&argc, &argv);  // on a worker rank: serves, then exits
  std::fputs("this program is a cf::MpiPoolExecutor worker: run it under mpiexec (ranks 1..N-1) "
             "or let an executor spawn it\n",
             stderr);
  return 2;
}
