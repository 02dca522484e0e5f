#include "tools/bench/thread_pool_memory.h"

#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "tools/bench/thread_pool_peers.h"

namespace cf::bench {
namespace {

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total_pages = 0;
  size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t HeapBytesInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}


// The memory scenario runs in a fresh copy of this binary (--cf_memory_probe=<library>), so
// that memory freed by earlier benchmarks, kept by the allocators, does not hide the growth.


MemoryFigures Measure(size_t rss_before, size_t heap_before) {
  const size_t rss_after = ResidentBytes();
  const size_t heap_after = HeapBytesInUse();
  return {
      .rss_bytes_per_task =
          static_cast<double>(rss_after - std::min(rss_after, rss_before)) / PendingTasks(),
      .heap_bytes_per_task =
          static_cast<double>(heap_after - std::min(heap_after, heap_before)) / PendingTasks(),
  };
}

// Both workers blocked on a gate, then 1M no-op calls queued behind it. The vector holding the
// futures is allocated and touched before the baseline: what grows is the per-task cost (the
// task and the shared state behind its future).
template <typename Lib>
MemoryFigures ProbeMemory() {
  Lib lib(kWorkers);
  absl::Notification gate;
  absl::BlockingCounter blocked(kWorkers);
  auto block = [&] {
    blocked.DecrementCount();
    gate.WaitForNotification();
  };
  using GateFut = decltype(lib.Submit(block));
  std::vector<GateFut> gates;
  for (int i = 0; i < kWorkers; ++i) gates.push_back(lib.Submit(block));
  blocked.Wait();
  using Fut = decltype(lib.Submit(&Noop));
  std::vector<Fut> futures(PendingTasks());
  malloc_trim(0);
  const size_t rss_before = ResidentBytes();
  const size_t heap_before = HeapBytesInUse();
  for (int i = 0; i < PendingTasks(); ++i) futures[i] = lib.Submit(&Noop);
  const MemoryFigures figures = Measure(rss_before, heap_before);
  gate.Notify();
  for (GateFut& f : gates) Lib::Get(f);
  for (Fut& f : futures) Lib::Get(f);
  return figures;
}

// oneTBB: one worker thread in the arena (the caller submits), no futures.
template <>
MemoryFigures ProbeMemory<Tbb>() {
  Tbb tbb(kWorkers);
  absl::Notification gate;
  absl::BlockingCounter blocked(1);
  tbb.Run([&] {
    blocked.DecrementCount();
    gate.WaitForNotification();
  });
  blocked.Wait();
  malloc_trim(0);
  const size_t rss_before = ResidentBytes();
  const size_t heap_before = HeapBytesInUse();
  for (int i = 0; i < PendingTasks(); ++i) tbb.Run(&Noop);
  const MemoryFigures figures = Measure(rss_before, heap_before);
  gate.Notify();
  tbb.WaitAll();
  return figures;
}

}  // namespace

bool RunMemoryProbe(const std::string& library, MemoryFigures& out, std::string& error) {
  int fds[2];
  if (pipe(fds) != 0) {
    error = "pipe failed";
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const std::string flag = "--cf_memory_probe=" + library;
  char exe[] = "/proc/self/exe";
  char* child_argv[] = {exe, const_cast<char*>(flag.c_str()),
                        run_settings.smoke ? const_cast<char*>(kSmokeFlag) : nullptr, nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, exe, &actions, nullptr, child_argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string output;
  char buffer[256];
  ssize_t n = 0;
  while (spawned == 0 && (n = read(fds[0], buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  close(fds[0]);
  int status = 0;
  if (spawned != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0 ||
      std::sscanf(output.c_str(), "rss=%lf heap=%lf", &out.rss_bytes_per_task,
                  &out.heap_bytes_per_task) != 2) {
    error = "memory probe for " + library + " failed: " + output;
    return false;
  }
  return true;
}


int MemoryProbeMain(const std::string& library) {
  MemoryFigures f;
  if (library == Cf::kName) {
    f = ProbeMemory<Cf>();
  } else if (library == Asio::kName) {
    f = ProbeMemory<Asio>();
  } else if (library == BoostExecutors::kName) {
    f = ProbeMemory<BoostExecutors>();
  } else if (library == Tbb::kName) {
    f = ProbeMemory<Tbb>();
  } else {
    std::fprintf(stderr, "unknown library %s\n", library.c_str());
    return 2;
  }
  std::printf("rss=%.3f heap=%.3f\n", f.rss_bytes_per_task, f.heap_bytes_per_task);
  return 0;
}

}  // namespace cf::bench
