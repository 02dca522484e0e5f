#include "cf/mpi/internal/mpi_protocol.h"

#include <mpi.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/wire.h"

namespace cf::internal {

void EncodeMpiFrame(FrameKind kind, std::uint64_t task_id, absl::Span<const char> payload,
                    ByteBuffer* out) {
  out->clear();
  AppendFrame(kind, task_id, payload, out);
}

absl::Status SendMpiFrame(MPI_Comm comm, int dest, int tag, FrameKind kind,
                          std::uint64_t task_id, absl::Span<const char> payload,
                          ByteBuffer* scratch) {
  if (payload.size() > kMaxMpiPayload) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a frame of ", payload.size(), " bytes is over MPI's message limit"));
  }
  EncodeMpiFrame(kind, task_id, payload, scratch);
  const int rc = MPI_Send(scratch->data(), static_cast<int>(scratch->size()), MPI_BYTE, dest,
                          tag, comm);
  if (rc != MPI_SUCCESS) return absl::UnavailableError(MpiErrorText(rc));
  return absl::OkStatus();
}

absl::Status ReceiveMpiFrame(MPI_Comm comm, const MPI_Status& probed, ByteBuffer* message,
                             FrameHeader* header, absl::Span<const char>* frame_payload) {
  int count = 0;
  MPI_Get_count(&probed, MPI_BYTE, &count);
  message->ResizeUninitialized(static_cast<size_t>(count));
  MPI_Status status;
  const int rc = MPI_Recv(message->data(), count, MPI_BYTE, probed.MPI_SOURCE, probed.MPI_TAG,
                          comm, &status);
  if (rc != MPI_SUCCESS) return absl::UnavailableError(MpiErrorText(rc));
  if (message->size() < kFrameHeaderSize) {
    return absl::DataLossError(
        absl::StrCat("an MPI message of ", message->size(), " bytes is shorter than a frame header"));
  }
  absl::StatusOr<FrameHeader> parsed = DecodeFrameHeader(
      absl::MakeConstSpan(message->data(), kFrameHeaderSize), kMaxMpiPayload);
  if (!parsed.ok()) return parsed.status();
  if (parsed->payload_size != message->size() - kFrameHeaderSize) {
    return absl::DataLossError(absl::StrCat("a frame header says ", parsed->payload_size,
                                            " payload bytes; the MPI message holds ",
                                            message->size() - kFrameHeaderSize));
  }
  *header = *parsed;
  *frame_payload = absl::MakeConstSpan(message->data() + kFrameHeaderSize, parsed->payload_size);
  return absl::OkStatus();
}

std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return absl::StrCat("MPI error ", code, ": ", std::string(text, length));
}

}  // namespace cf::internal
