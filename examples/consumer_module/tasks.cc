#include "tasks.h"

#include <fstream>
#include <string>

#include "cf/serialization/task.h"

int Square(int x) { return x * x; }

std::string ProgramName() {
  std::ifstream comm("/proc/self/comm");
  std::string name;
  comm >> name;
  return name;
}

int Parse(std::string text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    throw ParseError("not a number: '" + text + "'");
  }
  return std::stoi(text);
}

// Registrations run during static initialisation: the BUILD target is alwayslink = True, so
// the linker keeps this file even though nothing calls into it by name.
CF_TASK(Square);
CF_TASK(ProgramName);
CF_TASK(Parse);
CF_EXCEPTION(ParseError);
