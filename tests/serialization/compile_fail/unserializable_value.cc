// Must not compile: encoding a type with no serialize().
#include "cf/serialization/value.h"

struct Opaque {
  int x = 0;
};
cf::ByteBuffer Bytes() { return cf::Encode(Opaque{}); }
