#include "cf/process_pool/internal/shared_region.h"

#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cf/process_pool/internal/process_util.h"

namespace cf::internal {
namespace {

// A record's header in the ring.
struct RecordHeader {
  std::uint32_t size;  // payload bytes (kPad: the pad's whole length)
  RecordKind kind;
  std::uint8_t reserved[3];
  std::uint64_t seq;
};
static_assert(sizeof(RecordHeader) == 16);
constexpr std::size_t kAlign = 16;  // every record starts 16-aligned, so a pad always fits

constexpr std::size_t kHeaderPage = 4096;
constexpr std::size_t kCallsControl = 0;
constexpr std::size_t kResultsControl = 256;
constexpr std::size_t kClaimsOffset = 512;
static_assert(sizeof(ByteRing::Control) <= 256);
static_assert(kClaimsOffset + SharedRegion::kClaimSlots * 8 <= kHeaderPage);
constexpr std::size_t kRegionBytes = kHeaderPage + 2 * SharedRegion::kRingBytes;

}  // namespace

std::size_t ByteRing::RecordBytes(std::size_t payload) {
  return (sizeof(RecordHeader) + payload + kAlign - 1) / kAlign * kAlign;
}

bool ByteRing::HasRoom(std::size_t n) const {
  const std::uint64_t head = control_->head.load(std::memory_order_relaxed);
  // Sequentially consistent, as every load a sleeper makes after raising its flag.
  const std::uint64_t tail = control_->tail.load(std::memory_order_seq_cst);
  const std::size_t offset = head % capacity_;
  const std::size_t need = RecordBytes(n);
  const std::size_t total = need > capacity_ - offset ? capacity_ - offset + need : need;
  return head + total - tail <= capacity_;
}

bool ByteRing::Push(RecordKind kind, std::uint64_t seq, absl::Span<const char> payload) {
  std::uint64_t head = control_->head.load(std::memory_order_relaxed);
  const std::uint64_t tail = control_->tail.load(std::memory_order_acquire);
  std::size_t offset = head % capacity_;
  const std::size_t need = RecordBytes(payload.size());
  const std::size_t to_end = capacity_ - offset;
  const std::size_t total = need > to_end ? to_end + need : need;
  if (head + total - tail > capacity_) return false;
  if (need > to_end) {
    RecordHeader pad{static_cast<std::uint32_t>(to_end), RecordKind::kPad, {}, 0};
    std::memcpy(data_ + offset, &pad, sizeof(pad));
    head += to_end;
    offset = 0;
  }
  RecordHeader h{static_cast<std::uint32_t>(payload.size()), kind, {}, seq};
  std::memcpy(data_ + offset, &h, sizeof(h));
  if (!payload.empty()) std::memcpy(data_ + offset + sizeof(h), payload.data(), payload.size());
  // Sequentially consistent: orders the publication before the producer's read of
  // consumer_sleeping (see the file comment).
  control_->head.store(head + need, std::memory_order_seq_cst);
  return true;
}

bool ByteRing::Peek(RingRecord* record) {
  const std::uint64_t tail = control_->tail.load(std::memory_order_relaxed);
  const std::uint64_t head = control_->head.load(std::memory_order_seq_cst);
  if (head == tail) return false;
  std::size_t offset = tail % capacity_;
  std::size_t skipped = 0;
  RecordHeader h;
  std::memcpy(&h, data_ + offset, sizeof(h));
  if (h.kind == RecordKind::kPad) {
    skipped = capacity_ - offset;
    offset = 0;
    std::memcpy(&h, data_ + offset, sizeof(h));
  }
  // The peer is another process: never trust a size that would read outside the ring.
  const std::size_t available = head - tail - skipped;
  if (h.kind == RecordKind::kPad || h.size > capacity_ - offset - sizeof(h) ||
      RecordBytes(h.size) > available) {
    record->kind = RecordKind::kPad;  // the caller treats kPad as a corrupt ring
    record->seq = 0;
    record->payload = {};
    return true;
  }
  record->kind = h.kind;
  record->seq = h.seq;
  record->payload = absl::MakeConstSpan(data_ + offset + sizeof(h), h.size);
  peeked_bytes_ = skipped + RecordBytes(h.size);
  return true;
}

void ByteRing::Pop() {
  const std::uint64_t tail = control_->tail.load(std::memory_order_relaxed);
  control_->tail.store(tail + peeked_bytes_, std::memory_order_seq_cst);
  peeked_bytes_ = 0;
}

absl::StatusOr<std::shared_ptr<SharedRegion>> SharedRegion::Create() {
  const int raw = memfd_create("cf-process-pool-channel", MFD_CLOEXEC);
  if (raw < 0) return ErrnoStatus("memfd_create (the channel to a worker)");
  absl::StatusOr<UniqueFd> fd = MoveHigh(raw);
  if (!fd.ok()) return fd.status();
  if (ftruncate(fd->get(), kRegionBytes) != 0) {
    return ErrnoStatus("ftruncate (the channel to a worker)");
  }
  std::shared_ptr<SharedRegion> region(new SharedRegion());
  region->fd_ = *std::move(fd);
  if (absl::Status s = region->Map(/*fresh=*/true); !s.ok()) return s;
  absl::StatusOr<PayloadArena> call_arena = PayloadArena::Create();
  if (!call_arena.ok()) return call_arena.status();
  absl::StatusOr<PayloadArena> result_arena = PayloadArena::Create();
  if (!result_arena.ok()) return result_arena.status();
  region->call_arena_ = *std::move(call_arena);
  region->result_arena_ = *std::move(result_arena);
  return region;
}

absl::StatusOr<std::shared_ptr<SharedRegion>> SharedRegion::Attach(int first_fd) {
  std::shared_ptr<SharedRegion> region(new SharedRegion());
  const int fd = first_fd;
  region->fd_.Reset(fd);
  region->call_arena_ = PayloadArena(UniqueFd(first_fd + 1));
  region->result_arena_ = PayloadArena(UniqueFd(first_fd + 2));
  for (int i = 0; i < CallPayloadAllocator::kSlots; ++i) {
    region->call_slots_[i] = PayloadArena(UniqueFd(first_fd + kChannelFds + i));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("fstat (the pool's channel)");
  if (static_cast<std::size_t>(st.st_size) != kRegionBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("the pool's channel has ", st.st_size, " bytes, not ", kRegionBytes,
                     ": the worker program was built from a different version of cf"));
  }
  if (absl::Status s = region->Map(/*fresh=*/false); !s.ok()) return s;
  region->CloseRingFd();  // mapped: the task gets the descriptor slot back
  return region;
}

std::array<int, SharedRegion::kWorkerChannelFds> SharedRegion::WorkerFds() {
  std::array<int, kWorkerChannelFds> fds;
  const std::array<int, kChannelFds> own = this->fds();
  std::copy(own.begin(), own.end(), fds.begin());
  const absl::Span<const int> slots = CallPayloadAllocator::Get()->SlotFds();
  has_call_slots_ = slots.size() == CallPayloadAllocator::kSlots;
  for (int i = 0; i < CallPayloadAllocator::kSlots; ++i) {
    fds[kChannelFds + i] = has_call_slots_ ? slots[i] : own[1];  // a stand-in never named
  }
  return fds;
}

absl::StatusOr<absl::Span<const char>> SharedRegion::ReadCallSlot(std::size_t slot,
                                                                  std::size_t n) {
  if (slot >= call_slots_.size()) {
    return absl::DataLossError(absl::StrCat("a call in slot ", slot, " of ", call_slots_.size()));
  }
  return call_slots_[slot].Read(n);
}

absl::Status SharedRegion::Map(bool fresh) {
  void* base = mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (base == MAP_FAILED) return ErrnoStatus("mmap (the channel to a worker)");
  base_ = base;
  size_ = kRegionBytes;
  char* bytes = static_cast<char*>(base);
  auto* calls = reinterpret_cast<ByteRing::Control*>(bytes + kCallsControl);
  auto* results = reinterpret_cast<ByteRing::Control*>(bytes + kResultsControl);
  claims_ = reinterpret_cast<std::atomic<std::uint64_t>*>(bytes + kClaimsOffset);
  if (fresh) {
    // The memfd's pages are zero; construct the atomics in place all the same.
    calls = new (calls) ByteRing::Control();
    results = new (results) ByteRing::Control();
    for (std::size_t i = 0; i < kClaimSlots; ++i) {
      new (&claims_[i]) std::atomic<std::uint64_t>(ClaimWord(0, kClaimClaimed));
    }
  }
  calls_ = ByteRing(calls, bytes + kHeaderPage, kRingBytes);
  results_ = ByteRing(results, bytes + kHeaderPage + kRingBytes, kRingBytes);
  return absl::OkStatus();
}

bool SpinUntil(absl::FunctionRef<bool()> ready, absl::Duration budget) {
  if (ready()) return true;
  if (budget <= absl::ZeroDuration()) return false;
  const absl::Time deadline = absl::Now() + budget;
  for (int round = 0;; ++round) {
    for (int i = 0; i < 16; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (absl::Now() >= deadline) return ready();
    // On a busy machine the other side may need this CPU: let it run.
    if (round >= 4) sched_yield();
  }
}

absl::Duration SpinBudget(absl::Duration budget) {
  return get_nprocs() > 1 ? budget : absl::ZeroDuration();
}

SharedRegion::~SharedRegion() {
  if (base_ != nullptr) munmap(base_, size_);
}

}  // namespace cf::internal
