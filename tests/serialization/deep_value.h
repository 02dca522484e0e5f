// Deep: a value whose encoding nests `depth + 1` values through its own save()/load(), with
// nothing in between (no container, no pointer) — the shape that overflows the stack of an
// encoder without a nesting limit.
#ifndef TESTS_SERIALIZATION_DEEP_VALUE_H_
#define TESTS_SERIALIZATION_DEEP_VALUE_H_

#include <stdexcept>

namespace cf_test {

struct Deep {
  int depth = 0;

  template <class Archive>
  void save(Archive& archive) const {
    archive(depth);
    if (depth > 0) archive(Deep{depth - 1});
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(depth);
    if (depth > 0) {
      Deep inner;
      archive(inner);
      if (inner.depth != depth - 1) throw std::logic_error("Deep: inner depth mismatch");
    }
  }
};

}  // namespace cf_test

#endif  // TESTS_SERIALIZATION_DEEP_VALUE_H_
