// cf/serialization/internal/forked_copy.h — a task that fork()s without exec returns twice.
//
// Not part of the public API.
//
// In a process-pool worker, a task that calls fork() and lets the child return (no exec, no
// _exit) would have two processes encode a result into the memory the worker shares with the
// pool, and go on claiming calls from its ring. Only the worker may answer. So a worker calls
// WatchForForkedCopies() once it starts; from then on every fork() of that process marks the
// child (a pthread_atfork handler sets a flag), and EndIfForkedCopy(), run after every task
// returns or throws and before anything is encoded, ends a marked child at once with _exit(0)
// (no atexit handlers: they are the worker's). A child that execs, or ends itself, never gets
// there; posix_spawn and vfork do not run fork handlers and need not.
//
// A new worker started from a worker (a process pool inside a task) calls
// WatchForForkedCopies() again, which clears the mark its fork() set: it is a worker of its own.
//
// Cost: one relaxed atomic load per task. Thread safety: every function here may be called from
// any thread; the mark is set only in a fork() child, where one thread exists.
#ifndef CF_SERIALIZATION_INTERNAL_FORKED_COPY_H_
#define CF_SERIALIZATION_INTERNAL_FORKED_COPY_H_

namespace cf::internal {

// Registers the fork handler (once per process) and clears the mark: this process is a worker.
void WatchForForkedCopies();

// True in a child fork()ed by this process after WatchForForkedCopies() (until it is called
// again there).
bool IsForkedCopy();

// _exit(0) if IsForkedCopy().
void EndIfForkedCopy();

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_FORKED_COPY_H_
