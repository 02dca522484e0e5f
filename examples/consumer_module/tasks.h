// Tasks the process pool runs. tasks.cc registers them (CF_TASK) and an exception type
// (CF_EXCEPTION); both this program and its worker program link it.
#ifndef CF_CONSUMER_TASKS_H_
#define CF_CONSUMER_TASKS_H_

#include <stdexcept>
#include <string>

// Crosses processes as itself: derives from std::exception, constructible from the string that
// what() returns, and registered with CF_EXCEPTION in tasks.cc.
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int Square(int x);
// The name of the program this task runs in (/proc/self/comm): the worker's, not this one's.
std::string ProgramName();
// Throws ParseError unless `text` is a decimal number.
int Parse(std::string text);

#endif  // CF_CONSUMER_TASKS_H_
