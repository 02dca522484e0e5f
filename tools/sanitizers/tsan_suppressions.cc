// ThreadSanitizer suppressions compiled into the binaries that link this library: every test,
// and the tools' programs that the tests run (tour, primes).
//
// abseil 20220623 built by GCC 12 with -fsanitize=thread reports a data race between a thread
// constructing its per-thread Waiter (absl::synchronization_internal::Waiter::Waiter, when its
// ThreadIdentity is created or reused) and another thread waking it (Waiter::Post) through a
// Mutex or Notification. The ordering between the two goes through abseil's internal atomics
// and fences; GCC's TSan does not model std::atomic_thread_fence (hence -Wno-tsan in .bazelrc),
// so it cannot see it. This is abseil's known TSan false positive (abseil/abseil-cpp#217,
// #760, #1239; google/sanitizers#953, where report_atomic_races=0 is the suggested workaround;
// this suppression is narrower). Every report from the tests is this one, inside abseil;
// nothing in cf's own code is suppressed. Every test links this library through cf_cc_test
// (tests/defs.bzl), and //tools:tour and //tools:primes link it directly; elsewhere, run with
// TSAN_OPTIONS=suppressions=<a file with these lines>.
//
// libstdc++ false positive: an exception object travels between threads inside a
// std::exception_ptr (a future's stored exception, rethrown by Result() in another thread), and
// libstdc++ counts its references with atomics in code that is not built with TSan. When the
// last reference goes in a different thread than the one that caught it (say the catching
// thread's future was a temporary and the executor's thread drops the last copy), TSan sees the
// delete in exception_ptr::_M_release but not the atomic ordering before it. The same holds when
// the last reference is the catch handler's own: a worker that caught a task's exception
// publishes it to the future from inside its handler, and if the consumer has already read and
// dropped every other reference, __cxa_end_catch frees the object in the worker. Only those two
// libstdc++ release paths are suppressed; the ASan run still checks for real use after free.
// Sometimes neither frame is in the report: the release is inlined into the code that drops the
// last reference (say cf::internal::StateBase::Unref, when a future's state goes away in a
// worker after the consumer's catch block has read e.what() and ended), and the report shows
// only the destructor of the exception's message, std::logic_error or std::runtime_error (the
// bases of every standard exception that carries a message), freeing the string another thread
// read earlier. Those two libstdc++ destructors are suppressed for that reason; cf's own frames
// are not.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::Post\n"
         "race:std::__exception_ptr::exception_ptr::_M_release\n"
         "race:__cxa_end_catch\n"
         "race:std::logic_error::~logic_error\n"
         "race:std::runtime_error::~runtime_error\n";
}
#endif
