// cf/process_pool/start_method.h — how a ProcessPoolExecutor starts its workers.
#ifndef CF_PROCESS_POOL_START_METHOD_H_
#define CF_PROCESS_POOL_START_METHOD_H_

namespace cf {

// kFork:       fork() this process for each worker; needs no hook in main().
// kSpawn:      start this program again (or Options::worker_binary) for each worker; main() must
//              call cf::InitProcessPool(argc, argv) first.
// kForkServer: spawn one server that way, and fork each worker from it (fast starts, and
//              workers do not inherit the parent's threads or state). The program's first such
//              pool takes the spare server cf::InitProcessPool started, if there is one.
// kAuto:       kForkServer when cf::InitProcessPool ran in this process, otherwise kFork.
enum class StartMethod { kAuto, kFork, kSpawn, kForkServer };

// "auto", "fork", "spawn", "forkserver".
const char* StartMethodName(StartMethod method);

}  // namespace cf

#endif  // CF_PROCESS_POOL_START_METHOD_H_
