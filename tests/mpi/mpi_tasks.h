// tests/mpi/mpi_tasks.h — the tasks the MPI tests and the MPI benchmark submit (CF_TASK'd in
// mpi_tasks.cc, linked into every rank).
#ifndef CF_TESTS_MPI_MPI_TASKS_H_
#define CF_TESTS_MPI_MPI_TASKS_H_

#include <cstdint>
#include <string>

namespace cf::mpi_test {

int Square(int x);
void Noop();
std::int64_t Pid();                 // the pid of the process that ran it
int SleepMs(int ms);                // sleeps, returns ms
int ThrowOutOfRange(int x);         // throws std::out_of_range("x=<x>")
int ThrowUnregistered(int x);       // throws a type nobody registered: cf::RemoteError
int KillSelf(int x);                // raise(SIGKILL) in the worker
std::string Echo(std::string s);
int Mul(int a, int b);
int NotRegistered(int x);           // no CF_TASK
void SetGreeting(std::string s);    // an initializer: Greeting() returns s from then on
// "<s>@<pid>": s from SetGreeting in this process, or "". With a rendezvous folder, first waits
// (at most 60 s) until two calls have reached it (see PidAtRendezvous).
std::string Greeting(std::string rendezvous);
// Its pid, once two calls have reached the folder `rendezvous` (each leaves a file there): two
// such calls only both return if they run at the same time, so on two workers. Throws after 60 s.
std::int64_t PidAtRendezvous(std::string rendezvous);
void FailInit(std::string s);       // an initializer that throws std::runtime_error(s)
// fork()s without exec and returns x in both processes: only the worker may answer (the child
// ends as its task returns, serialization/internal/forked_copy.h).
int ForkAndReturn(int x);

}  // namespace cf::mpi_test

#endif  // CF_TESTS_MPI_MPI_TASKS_H_
