// cf/process_pool/worker_death.h — what a worker process's death means for a process pool
// (ProcessPoolExecutor::Options::on_worker_death).
#ifndef CF_PROCESS_POOL_WORKER_DEATH_H_
#define CF_PROCESS_POOL_WORKER_DEATH_H_

namespace cf {

// A worker that dies (a signal, exit(), abort()) while the pool has work:
// kBreakPool: Python's behaviour (the default): the pool breaks — every pending and running
//             future fails with cf::BrokenProcessPool, and Submit throws from then on.
// kFailTask:  only the call the worker was running fails, with cf::WorkerDiedError (pid(),
//             signal() or exit_code()); calls it held but had not started run elsewhere; the
//             worker is replaced and the pool goes on. (Ray's max_retries=0, dask's
//             allowed-failures=0.)
// kRetryTask: the call it was running runs again on another worker, up to
//             Options::max_retries times; then its future fails with cf::WorkerDiedError whose
//             deaths() says how many workers it was on when they died. A call that throws is
//             never retried: only deaths are. (Ray's task max_retries.)
// Whatever the policy, a worker whose initializer throws, or that dies before it is ready,
// breaks the pool: restarting it would only fail again. And the workers that Shutdown's
// kTerminate/kKill, TerminateWorkers or KillWorkers end fail their calls with
// BrokenProcessPool, never a retry.
enum class WorkerDeath { kBreakPool, kFailTask, kRetryTask };

}  // namespace cf

#endif  // CF_PROCESS_POOL_WORKER_DEATH_H_
