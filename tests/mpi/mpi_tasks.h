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
std::string Greeting(int ms);       // sleeps ms, then "<s>@<pid>": s from SetGreeting here, or ""
std::int64_t PidAfterMs(int ms);    // sleeps ms, then its pid
void FailInit(std::string s);       // an initializer that throws std::runtime_error(s)

}  // namespace cf::mpi_test

#endif  // CF_TESTS_MPI_MPI_TASKS_H_
