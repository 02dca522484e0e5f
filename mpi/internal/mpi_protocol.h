// cf/mpi/internal/mpi_protocol.h — cf's frames (cf/serialization/wire.h) as MPI messages.
//
// Not part of the public API.
//
// One MPI message carries one whole frame: the 24-byte header, then the payload, exactly the
// bytes the process pool writes to a pipe. Tags:
//   kCallTag   main → worker   kCall (a TaskCall payload: one Submit or one Map chunk),
//                              kInitialize (task id 0: the executor's initializer, before any
//                              call; answered with kResult or kException, task id 0), or
//                              kShutdown (task id 0, no payload): leave the loop
//   kReplyTag  worker → main   kHello first, from a spawned worker (task id: its pid; payload:
//                              its host name), then kResult or kException for each kCall,
//                              carrying the call's task id
// A worker answers its calls in the order they came (one rank runs one call at a time).
//
// Thread safety: callers hold MpiLock() on the main rank (mpi_runtime.h).
#ifndef CF_MPI_INTERNAL_MPI_PROTOCOL_H_
#define CF_MPI_INTERNAL_MPI_PROTOCOL_H_

#include <mpi.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/wire.h"

namespace cf::internal {

inline constexpr int kCallTag = 0x6366;   // "cf"
inline constexpr int kReplyTag = 0x6367;

// The largest frame payload an MPI message carries here (MPI counts are ints).
inline constexpr std::uint64_t kMaxMpiPayload = (std::uint64_t{1} << 31) - 1 - kFrameHeaderSize;

// Encodes header and payload into *out (reusing its capacity), ready for MPI_Send/MPI_Isend.
void EncodeMpiFrame(FrameKind kind, std::uint64_t task_id, absl::Span<const char> payload,
                    ByteBuffer* out);

// Blocking send of one frame.
absl::Status SendMpiFrame(MPI_Comm comm, int dest, int tag, FrameKind kind,
                          std::uint64_t task_id, absl::Span<const char> payload,
                          ByteBuffer* scratch);

// Receives the message `probed` describes (from MPI_Probe/MPI_Iprobe) into *message and parses
// it as a frame: *frame_payload then points into *message. kDataLoss for a malformed message.
absl::Status ReceiveMpiFrame(MPI_Comm comm, const MPI_Status& probed, ByteBuffer* message,
                             FrameHeader* header, absl::Span<const char>* frame_payload);

// "MPI_ERR_...: text" for an MPI error code.
std::string MpiErrorText(int code);

}  // namespace cf::internal

#endif  // CF_MPI_INTERNAL_MPI_PROTOCOL_H_
