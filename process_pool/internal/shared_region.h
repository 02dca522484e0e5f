// cf/process_pool/internal/shared_region.h — the memory a pool and one worker share: two rings
// of records (calls in, results out) and the claim words that let a worker take a call, or the
// pool take it back, atomically.
//
// Not part of the public API. See process_pool/README.md for how a call travels through it.
//
//   pool (manager thread)                     shared memory (memfd)                 worker
//   ─────────────────────                     ─────────────────────                 ──────
//   PushCall: claim[seq] = seq|kQueued ──►   claims[kClaimSlots]   ◄── Claim(seq): CAS kQueued→kClaimed
//             record {kCall, seq, args} ──►  call ring  ─────────────► Peek / Pop (runs the call)
//   Cancel()/steal: CAS kQueued→kRevoked ──► (the worker skips it, says kSkipped)
//   PopResult ◄───────────────────────────   result ring ◄───────────── PushResult {kResult…, seq}
//
// Each ring has one producer and one consumer: the producer advances `head`, the consumer `tail`
// (byte counts that only grow; both sides read both). A record is a 16-byte header (payload
// size, kind, seq) and its payload, 8-aligned; one that does not fit before the end of the ring
// is preceded by a padding record. A payload over kMaxRingPayload travels in the direction's
// PayloadArena (payload_arena.h), and its record (kArena) only says how big it is.
//
// Sleeping without losing a wake-up: a consumer that finds its ring empty sets
// `consumer_sleeping` (sequentially consistent), looks once more, and only then blocks (on its
// pipe); a producer that published a record reads the flag (sequentially consistent) and, if it
// swaps it from 1 to 0, sends one wake-up (a kWake frame on that pipe). Either the consumer sees
// the record or the producer sees the flag. The same for a producer that finds no room:
// `producer_waiting`, woken by the consumer after it made room.
//
// Claims: the call with sequence number seq (per worker, from 1) owns claim word seq %
// kClaimSlots while it is in flight (the pool keeps at most kClaimSlots calls in flight per
// worker). The word holds seq << 2 | state, so a stale compare-and-swap for an earlier call
// can never change a later one.
//
// Thread safety: a SharedRegion is mapped once per process; each ring end is used by one thread
// at a time (the manager thread in the pool, the worker's only thread). Claim words may be
// compared-and-swapped by any thread (Future::Cancel on a user thread). The memory is a memfd:
// nothing to unlink, freed when the last process holding it is gone.
#ifndef CF_PROCESS_POOL_INTERNAL_SHARED_REGION_H_
#define CF_PROCESS_POOL_INTERNAL_SHARED_REGION_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/payload_arena.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "cf/process_pool/internal/unique_fd.h"

namespace cf::internal {

// What a ring record is.
enum class RecordKind : std::uint8_t {
  kPad = 0,        // filler up to the end of the ring
  kCall = 1,       // pool → worker: a TaskCall (payload), for claim word seq
  kResult = 2,     // worker → pool: the call's encoded result
  kException = 3,  // worker → pool: the call's encoded exception
  kSkipped = 4,    // worker → pool: the call was revoked before the worker claimed it
  kArena = 5,      // either way: a kCall/kResult/kException whose payload is in the arena
  kSlot = 6,       // pool → worker: a kCall whose payload is in one of the pool process's call
                   // slots (serialization/internal/payload_allocator.h); worker → pool: a
                   // kResult/kException written over that call's arguments in its slot
};

// A kArena record's payload: what the arena holds.
struct ArenaNote {
  std::uint64_t size;
  RecordKind kind;  // kCall, kResult or kException
  std::uint8_t reserved[7];
};

// A kSlot record's payload: which call slot holds the call (or its outcome), and how many bytes.
struct SlotNote {
  std::uint64_t size;
  std::uint8_t slot;
  RecordKind kind;  // kCall, kResult or kException
  std::uint8_t reserved[6];
  // A call's: how many bytes of the slot the worker may write its outcome in, once it has
  // decoded the call (0: none; the pool lent the slot, CallPayloadAllocator::Lend).
  std::uint64_t result_room;
};

// Claim word states (the low two bits).
enum ClaimState : std::uint64_t { kClaimQueued = 0, kClaimClaimed = 1, kClaimRevoked = 2 };
inline constexpr std::uint64_t ClaimWord(std::uint64_t seq, ClaimState s) { return seq << 2 | s; }

struct RingRecord {
  RecordKind kind;
  std::uint64_t seq;
  absl::Span<const char> payload;  // points into the ring until Pop()
};

// One direction: the control words (in shared memory) and the bytes.
class ByteRing {
 public:
  struct alignas(64) Control {
    std::atomic<std::uint64_t> head{0};
    char pad0[56];
    std::atomic<std::uint64_t> tail{0};
    char pad1[56];
    std::atomic<std::uint32_t> consumer_sleeping{0};
    std::atomic<std::uint32_t> producer_waiting{0};
    // Result ring only: the worker's result arena holds a payload the pool has not decoded yet.
    std::atomic<std::uint32_t> arena_busy{0};
    // Result ring only: the last call whose result the pool has decoded (the worker keeps what
    // a result refers to, e.g. a cf::SharedBuffer it made, until then).
    std::atomic<std::uint64_t> decoded_seq{0};
  };

  ByteRing() = default;
  ByteRing(Control* control, char* data, std::size_t capacity)
      : control_(control), data_(data), capacity_(capacity) {}

  // ---- Producer ----
  // Appends a record; false when there is no room now (nothing written).
  bool Push(RecordKind kind, std::uint64_t seq, absl::Span<const char> payload);
  // Room for a payload of n bytes now?
  bool HasRoom(std::size_t n) const;

  // ---- Consumer ----
  // The oldest record, or false when the ring is empty. Stays valid until Pop().
  bool Peek(RingRecord* record);
  // Frees the record Peek() returned.
  void Pop();
  bool Empty() const {
    return control_->head.load(std::memory_order_seq_cst) == tail_cache();
  }

  Control& control() const { return *control_; }
  bool valid() const { return control_ != nullptr; }

 private:
  std::uint64_t tail_cache() const { return control_->tail.load(std::memory_order_relaxed); }
  static std::size_t RecordBytes(std::size_t payload);

  Control* control_ = nullptr;
  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t peeked_bytes_ = 0;  // the record Peek() returned, with any padding before it
};

// The mapped region: layout, rings and claims. Both processes map the same memfd.
class SharedRegion {
 public:
  // Each ring's size; payloads up to kMaxRingPayload use the rings.
  static constexpr std::size_t kRingBytes = std::size_t{1} << 20;
  static constexpr std::size_t kMaxRingPayload = kRingBytes / 4;
  // Calls in flight per worker, at most.
  static constexpr std::size_t kClaimSlots = 256;

  // The memfds a worker gets, in this order: the rings and claims, the call arena, the result
  // arena (kChannelFds consecutive descriptors in the worker), then the pool process's call
  // slots (kWorkerChannelFds in all).
  static constexpr int kChannelFds = 3;
  static constexpr int kWorkerChannelFds = kChannelFds + CallPayloadAllocator::kSlots;

  // The pool's side: new memfds, the first sized and mapped (CLOEXEC; pass fds() to the worker).
  static absl::StatusOr<std::shared_ptr<SharedRegion>> Create();
  // The worker's side: maps the memfds it was given as first_fd, first_fd + 1, first_fd + 2,
  // and takes those and the call slots' after them.
  static absl::StatusOr<std::shared_ptr<SharedRegion>> Attach(int first_fd);
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion();

  std::array<int, kChannelFds> fds() const {
    return {fd_.get(), call_arena_.fd(), result_arena_.fd()};
  }
  // The descriptors to start a worker with: fds(), then the process's call slots' (or, if it
  // has none, stand-ins: then has_call_slots() stays false and no kSlot record is sent).
  std::array<int, kWorkerChannelFds> WorkerFds();
  bool has_call_slots() const { return has_call_slots_; }
  // After the worker has its copies: the rings stay mapped, and their memfd needs no descriptor
  // here any more (one fewer per worker under a low descriptor limit).
  void CloseRingFd() { fd_.Reset(); }
  ByteRing& calls() { return calls_; }
  PayloadArena& call_arena() { return call_arena_; }
  PayloadArena& result_arena() { return result_arena_; }
  // The worker's side: the first `n` bytes of call slot `slot` (DataLoss if there is no such
  // slot or it is smaller: a corrupt record).
  absl::StatusOr<absl::Span<const char>> ReadCallSlot(std::size_t slot, std::size_t n);
  // The worker's side: call slot `slot` (after a ReadCallSlot of it), to write an outcome in.
  PayloadArena& call_slot(std::size_t slot) { return call_slots_[slot]; }
  ByteRing& results() { return results_; }
  std::atomic<std::uint64_t>& claim(std::uint64_t seq) { return claims_[seq % kClaimSlots]; }

 private:
  SharedRegion() = default;
  absl::Status Map(bool fresh);

  UniqueFd fd_;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  ByteRing calls_;
  ByteRing results_;
  std::atomic<std::uint64_t>* claims_ = nullptr;
  PayloadArena call_arena_;
  PayloadArena result_arena_;
  bool has_call_slots_ = false;                                     // the pool's side
  std::array<PayloadArena, CallPayloadAllocator::kSlots> call_slots_;  // the worker's side
};

// Spins (pausing, then yielding the CPU) until ready() or `budget` has passed; returns ready().
// A hand-off that takes a few microseconds then costs no sleep and no wake-up.
bool SpinUntil(absl::FunctionRef<bool()> ready, absl::Duration budget);
// `budget` on a machine with several CPUs; zero on one (the other side cannot run while we spin).
absl::Duration SpinBudget(absl::Duration budget);

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_SHARED_REGION_H_
