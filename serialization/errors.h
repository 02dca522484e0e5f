// cf/serialization/errors.h — cf::SerializationError: bytes that do not decode, values nested too
// deeply to encode; cf::SharedBufferError: a shared buffer the system would not make.
//
// Thrown (or carried inside an absl::Status) when a payload is malformed: it ends early, has
// bytes left over, declares a container larger than the bytes that remain, holds an invalid
// variant index or bool, or a cereal loader rejected it; and when a value to encode (or decode)
// nests too deeply. Like every cf error it derives from cf::Error, and it crosses processes as
// itself.
//
// Thread safety: immutable after construction.
//
// Example:
//   try { ... } catch (const cf::SerializationError& e) { LOG(ERROR) << e.what(); }
#ifndef CF_SERIALIZATION_ERRORS_H_
#define CF_SERIALIZATION_ERRORS_H_

#include "cf/core/errors.h"

namespace cf {

class SerializationError : public Error {
 public:
  using Error::Error;
};

// A cf::SharedBuffer (shared_buffer.h) could not be made or sealed: no memory, no descriptor
// left, a size the system refuses. The message names the system call, its error and what to do.
// Crosses processes as itself.
class SharedBufferError : public Error {
 public:
  using Error::Error;
};

}  // namespace cf

#endif  // CF_SERIALIZATION_ERRORS_H_
