// //tools:tour — walks through the seed tutorials' concurrent.futures examples in C++, with real
// output. `--list` lists the sections, `--section=NAME` runs one.
//
// Each section prints a one-line heading ("== name: what it shows") and then what to notice.
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/futures.h"

ABSL_FLAG(std::string, section, "", "Run only this section (see --list).");
ABSL_FLAG(bool, list, false, "List the sections and exit.");

namespace {

struct Section {
  const char* name;
  const char* heading;
  std::function<void()> run;
};

void Say(const std::string& line) { std::printf("   %s\n", line.c_str()); }

// Stands in for an executor until the thread pool section: runs fn on its own thread.
class Threads {
 public:
  ~Threads() {
    for (auto& t : threads_) t.join();
  }
  template <typename F>
  auto Run(F fn) {
    using R = decltype(fn());
    cf::Promise<R> p;
    cf::Future<R> f = p.GetFuture();
    threads_.emplace_back([p = std::move(p), fn = std::move(fn)]() mutable {
      if (!p.SetRunningOrNotifyCancel()) return;
      try {
        p.SetResult(fn());
      } catch (...) {
        p.SetException(std::current_exception());
      }
    });
    return f;
  }

 private:
  std::vector<std::thread> threads_;
};

void FutureStates() {
  cf::Promise<int> promise;
  cf::Future<int> future = promise.GetFuture();
  Say("before:  " + future.DebugString());
  promise.SetRunningOrNotifyCancel();
  Say("running: " + future.DebugString());
  promise.SetResult(42);
  Say("after:   " + future.DebugString());
  Say(absl::StrCat("Result() = ", future.Result()));
  Say("Notice: the state moves pending -> running -> finished, like Python's repr().");
}

void DoneCallbacks() {
  cf::Promise<std::string> promise;
  cf::Future<std::string> future = promise.GetFuture();
  future.AddDoneCallback([](const cf::Future<std::string>& f) {
    Say("callback 1 sees: " + f.Result());
  });
  future.AddDoneCallback([](const cf::Future<std::string>& f) {
    Say("callback 2 sees: " + f.Result());
  });
  Say("completing the future...");
  promise.SetResult("https://example.org fetched");
  future.AddDoneCallback([](const cf::Future<std::string>&) {
    Say("callback 3 (added after completion) runs at once, in the caller");
  });
  Say("Notice: callbacks run in registration order in the completing thread.");
}

void Cancelling() {
  cf::Promise<int> queued, started;
  started.SetRunningOrNotifyCancel();
  cf::Future<int> a = queued.GetFuture(), b = started.GetFuture();
  Say(absl::StrCat("cancel queued task: ", a.Cancel() ? "cancelled" : "could not cancel"));
  Say(absl::StrCat("cancel running task: ", b.Cancel() ? "cancelled" : "could not cancel"));
  started.SetResult(1);
  try {
    a.Result();
  } catch (const cf::CancelledError& e) {
    Say(absl::StrCat("Result() of the cancelled one throws cf::CancelledError: ", e.what()));
  }
  Say("Notice: only work that has not started can be cancelled.");
}

void Exceptions() {
  Threads threads;
  cf::Future<int> f = threads.Run([]() -> int { throw std::invalid_argument("bad input 7"); });
  try {
    f.Result(absl::Seconds(5));
  } catch (const std::invalid_argument& e) {
    Say(absl::StrCat("Result() rethrew std::invalid_argument: ", e.what()));
  }
  Say("DebugString: " + f.DebugString());
  Say("Notice: the task's own exception object comes back, not a wrapper.");
}

void AsCompletedSection() {
  Threads threads;
  std::vector<cf::Future<int>> futures;
  for (int delay : {30, 10, 20}) {
    futures.push_back(threads.Run([delay] {
      absl::SleepFor(absl::Milliseconds(delay));
      return delay;
    }));
  }
  for (const cf::Future<int>& f : cf::AsCompleted(futures, absl::Seconds(5))) {
    Say(absl::StrCat("finished: task that slept ", f.Result(), " ms"));
  }
  Say("Notice: results arrive in completion order (10, 20, 30), not submission order.");
}

void WaitFirstCompleted() {
  Threads threads;
  absl::Notification release;
  cf::Future<std::string> fast = threads.Run([] { return std::string("fast mirror"); });
  cf::Future<std::string> slow = threads.Run([&] {
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
    return std::string("slow mirror");
  });
  auto [done, not_done] =
      cf::Wait({fast, slow}, absl::Seconds(5), cf::ReturnWhen::kFirstCompleted);
  Say(absl::StrCat("first completed: ", done.front().Result(), "; still running: ",
                   not_done.size()));
  release.Notify();
  Say("Notice: Wait(kFirstCompleted) returns as soon as one future is done.");
}

void Timeouts() {
  cf::Promise<int> never;
  cf::Future<int> f = never.GetFuture();
  try {
    f.Result(absl::Milliseconds(50));
  } catch (const cf::TimeoutError& e) {
    Say(absl::StrCat("Result(50ms) threw cf::TimeoutError: ", e.what()));
  }
  std::vector<cf::Future<int>> futures = {cf::MakeReadyFuture<int>(1), f};
  try {
    for (const auto& g : cf::AsCompleted(futures, absl::Milliseconds(50))) {
      Say(absl::StrCat("AsCompleted yielded a done future: ", g.Result()));
    }
  } catch (const cf::TimeoutError& e) {
    Say(absl::StrCat("AsCompleted(50ms) then threw cf::TimeoutError: ", e.what()));
  }
  f.Cancel();
  Say("Notice: the message says how many futures were still unfinished, as Python's does.");
}

std::vector<Section> Sections() {
  return {
      {"future_states", "Submit-like flow: a future's state before and after", FutureStates},
      {"callbacks", "done-callbacks", DoneCallbacks},
      {"cancel", "cancelling queued vs running work", Cancelling},
      {"exceptions", "exceptions in tasks", Exceptions},
      {"as_completed", "AsCompleted yields futures as they finish", AsCompletedSection},
      {"wait_first_completed", "Wait with kFirstCompleted", WaitFirstCompleted},
      {"timeouts", "timeouts on Result and AsCompleted", Timeouts},
  };
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("A tour of cf, Python's concurrent.futures in C++.");
  absl::ParseCommandLine(argc, argv);
  const std::vector<Section> sections = Sections();
  if (absl::GetFlag(FLAGS_list)) {
    for (const Section& s : sections) std::printf("%-22s %s\n", s.name, s.heading);
    return 0;
  }
  const std::string only = absl::GetFlag(FLAGS_section);
  bool ran = false;
  for (const Section& s : sections) {
    if (!only.empty() && only != s.name) continue;
    std::printf("== %s: %s\n", s.name, s.heading);
    s.run();
    std::printf("\n");
    ran = true;
  }
  if (!ran) {
    std::fprintf(stderr, "no section named '%s'; --list shows them\n", only.c_str());
    return 1;
  }
  return 0;
}
