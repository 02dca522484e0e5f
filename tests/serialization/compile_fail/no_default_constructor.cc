// Must not compile: a parameter type that cannot be default-constructed cannot be decoded.
#include "cf/serialization/task.h"

struct Fixed {
  explicit Fixed(int v) : value(v) {}
  int value;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(value);
  }
};
int UseFixed(Fixed f) { return f.value; }
CF_TASK(UseFixed);
