#include "cf/serialization/internal/payload_allocator.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>

namespace cf::internal {
namespace {

constexpr std::size_t kGrain = std::size_t{1} << 20;  // slot sizes in whole MiB

struct Slot {
  int fd = -1;
  // Written only by the thread holding the slot; read by others only to compare with a
  // payload's address (SlotOf), hence atomic.
  std::atomic<char*> base{nullptr};
  std::size_t mapped = 0;  // the holder's
};

enum SlotsState : int { kNotMade = 0, kMaking = 1, kMade = 2, kFailed = 3 };

struct Slots {
  Slot slot[CallPayloadAllocator::kSlots];
  int fds[CallPayloadAllocator::kSlots] = {};
  pid_t owner = 0;  // the process that made them (a fork() child never takes one)
  // Made by the first thread that needs them; one that finds another making them goes without
  // (no waiting, so a fork() child of a process caught in the middle cannot hang on it).
  std::atomic<int> state{kNotMade};
  // HeldBit(i): slot i holds a payload; LentBit(i): a worker may write in it (Lend);
  // OrphanBit(i): its payload was let go while it was lent, so it is free once the lend ends.
  std::atomic<std::uint32_t> bits{0};
};

constexpr std::uint32_t HeldBit(int i) { return 1u << i; }
constexpr std::uint32_t LentBit(int i) { return 1u << (8 + i); }
constexpr std::uint32_t OrphanBit(int i) { return 1u << (16 + i); }
static_assert(CallPayloadAllocator::kSlots <= 8);

Slots& TheSlots() {
  static Slots* const slots = new Slots();
  return *slots;
}

// True once the slots exist (made here, or earlier).
bool MakeSlots() {
  Slots& s = TheSlots();
  int state = s.state.load(std::memory_order_acquire);
  if (state == kMade) return true;
  if (state != kNotMade || !s.state.compare_exchange_strong(state, kMaking)) return false;
  for (int i = 0; i < CallPayloadAllocator::kSlots; ++i) {
    const int fd = memfd_create("cf-call-payloads", MFD_CLOEXEC);
    if (fd < 0) {
      for (int j = 0; j < i; ++j) close(s.slot[j].fd);
      s.state.store(kFailed, std::memory_order_release);
      return false;
    }
    // Above the low numbers a worker's descriptors are moved to.
    const int high = fcntl(fd, F_DUPFD_CLOEXEC, 32);
    if (high >= 0) {
      close(fd);
      s.slot[i].fd = high;
    } else {
      s.slot[i].fd = fd;
    }
    s.fds[i] = s.slot[i].fd;
  }
  s.owner = getpid();
  s.state.store(kMade, std::memory_order_release);
  return true;
}

// Takes a free slot; -1 if none (or this process is a fork() child of the one that made them).
int TakeSlot() {
  Slots& s = TheSlots();
  if (!MakeSlots() || s.owner != getpid()) return -1;
  std::uint32_t bits = s.bits.load(std::memory_order_relaxed);
  for (;;) {
    int free_slot = -1;
    for (int i = 0; i < CallPayloadAllocator::kSlots; ++i) {
      if ((bits & HeldBit(i)) == 0) {
        free_slot = i;
        break;
      }
    }
    if (free_slot < 0) return -1;
    if (s.bits.compare_exchange_weak(bits, bits | HeldBit(free_slot), std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return free_slot;
    }
  }
}

// Slot i is free again (its payload let go and no worker may write in it).
void Release(int i) {
  Slots& s = TheSlots();
  Slot& slot = s.slot[i];
  if (slot.mapped > CallPayloadAllocator::kKeepBytes && s.owner == getpid()) {
    munmap(slot.base.load(std::memory_order_relaxed), slot.mapped);
    slot.base.store(nullptr, std::memory_order_relaxed);
    slot.mapped = 0;
    (void)!ftruncate(slot.fd, static_cast<off_t>(CallPayloadAllocator::kKeepBytes));
  }
  s.bits.fetch_and(~HeldBit(i), std::memory_order_release);
}

// Its payload is let go: free now, or once its lend ends.
void LetGo(int i) {
  Slots& s = TheSlots();
  std::uint32_t bits = s.bits.load(std::memory_order_acquire);
  while ((bits & LentBit(i)) != 0) {
    if (s.bits.compare_exchange_weak(bits, bits | OrphanBit(i), std::memory_order_acq_rel)) return;
  }
  Release(i);
}

// Slot i (held) mapped with at least `capacity` bytes, keeping what it holds; null on failure
// (the slot as it was).
char* Grow(int i, std::size_t capacity) {
  Slot& slot = TheSlots().slot[i];
  char* base = slot.base.load(std::memory_order_relaxed);
  if (base != nullptr && slot.mapped >= capacity) return base;
  struct stat st;
  if (fstat(slot.fd, &st) != 0) return nullptr;
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  const std::size_t want = std::max((capacity + kGrain - 1) / kGrain * kGrain, size);
  if (want > size) {
    if (ftruncate(slot.fd, static_cast<off_t>(want)) != 0) return nullptr;
    // Allocated now: no memory is an error here rather than a SIGBUS while encoding.
    const int rc =
        fallocate(slot.fd, 0, static_cast<off_t>(size), static_cast<off_t>(want - size));
    if (rc != 0 && errno != EOPNOTSUPP) {
      (void)!ftruncate(slot.fd, static_cast<off_t>(size));
      return nullptr;
    }
  }
  void* fresh = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, slot.fd, 0);
  if (fresh == MAP_FAILED) return nullptr;
  if (base != nullptr) munmap(base, slot.mapped);
  slot.base.store(static_cast<char*>(fresh), std::memory_order_relaxed);
  slot.mapped = want;
  return static_cast<char*>(fresh);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL
#endif

std::atomic<bool> populate_unsupported{false};

bool Resident(const char* page) {
  unsigned char resident = 0;
  if (mincore(const_cast<char*>(page), 1, &resident) != 0) return true;  // then do nothing
  return (resident & 1) != 0;
}

// True if `page` is present but shared with another process copy-on-write (after a fork():
// every write to it would copy it, one fault at a time). /proc/self/pagemap: bit 63 present,
// bit 56 exclusively mapped. Opened each time: a descriptor kept open would go on naming the
// process that opened it after a fork().
bool SharedCopyOnWrite(const char* page, std::size_t page_size) {
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::uint64_t entry = 0;
  const off_t offset =
      static_cast<off_t>(reinterpret_cast<std::uintptr_t>(page) / page_size * sizeof(entry));
  const bool read_it = pread(fd, &entry, sizeof(entry), offset) == sizeof(entry);
  close(fd);
  return read_it && (entry >> 63 & 1) != 0 && (entry >> 56 & 1) == 0;
}

}  // namespace

void PrefaultForWrite(void* destination, std::size_t n) {
  constexpr std::size_t kMinBytes = std::size_t{1} << 20;
  if (n < kMinBytes || populate_unsupported.load(std::memory_order_relaxed)) return;
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(destination);
  const std::uintptr_t first = (start + page - 1) / page * page;
  const std::uintptr_t end = (start + n) / page * page;
  if (end <= first) return;
  const char* middle = reinterpret_cast<const char*>(first + (end - first) / 2 / page * page);
  if (Resident(reinterpret_cast<const char*>(first)) && Resident(middle) &&
      !SharedCopyOnWrite(middle, page)) {
    return;  // this process's own pages already: nothing to gain
  }
  if (madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE) != 0 &&
      errno == EINVAL) {
    populate_unsupported.store(true, std::memory_order_relaxed);
  }
}

CallPayloadAllocator* CallPayloadAllocator::Get() {
  static CallPayloadAllocator* const allocator = new CallPayloadAllocator();
  return allocator;
}

absl::Span<const int> CallPayloadAllocator::SlotFds() {
  // A fork() child's copies of the numbers may name other files by now (a kFork worker keeps
  // only its own descriptors): its pools start workers without slots.
  if (!MakeSlots() || TheSlots().owner != getpid()) return {};
  return absl::MakeConstSpan(TheSlots().fds, kSlots);
}

std::size_t CallPayloadAllocator::Lend(int slot) {
  Slots& s = TheSlots();
  if (slot < 0 || slot >= kSlots || s.owner != getpid()) return 0;
  std::uint32_t bits = s.bits.load(std::memory_order_acquire);
  do {
    if ((bits & HeldBit(slot)) == 0 || (bits & LentBit(slot)) != 0) return 0;
  } while (!s.bits.compare_exchange_weak(bits, bits | LentBit(slot), std::memory_order_acq_rel));
  return s.slot[slot].mapped;
}

void CallPayloadAllocator::EndLend(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  const std::uint32_t before =
      TheSlots().bits.fetch_and(~(LentBit(slot) | OrphanBit(slot)), std::memory_order_acq_rel);
  if ((before & OrphanBit(slot)) != 0) Release(slot);
}

bool CallPayloadAllocator::IsLent(int slot) const {
  return slot >= 0 && slot < kSlots &&
         (TheSlots().bits.load(std::memory_order_acquire) & LentBit(slot)) != 0;
}

bool CallPayloadAllocator::IsHeld(int slot) const {
  return slot >= 0 && slot < kSlots &&
         (TheSlots().bits.load(std::memory_order_acquire) & HeldBit(slot)) != 0;
}

int CallPayloadAllocator::SlotOf(const char* data) const {
  if (data == nullptr) return -1;
  const Slots& s = TheSlots();
  for (int i = 0; i < kSlots; ++i) {
    if (s.slot[i].base.load(std::memory_order_relaxed) == data) return i;
  }
  return -1;
}

char* CallPayloadAllocator::Reallocate(char* old, std::size_t old_capacity, std::size_t keep,
                                       std::size_t capacity) {
  const int in_slot = SlotOf(old);
  if (in_slot >= 0) {
    if (char* grown = Grow(in_slot, capacity)) return grown;  // the file kept the bytes
  } else if (capacity > kSmallBytes) {
    if (const int slot = TakeSlot(); slot >= 0) {
      if (char* room = Grow(slot, capacity)) {
        if (keep > 0) std::memcpy(room, old, keep);
        if (old != nullptr) delete[] old;
        return room;
      }
      LetGo(slot);
    }
  }
  char* fresh = new char[capacity];  // std::bad_alloc leaves `old` as it was
  if (keep > 0) std::memcpy(fresh, old, keep);
  if (old != nullptr) Free(old, old_capacity);
  return fresh;
}

void CallPayloadAllocator::Free(char* data, std::size_t /*capacity*/) {
  if (const int slot = SlotOf(data); slot >= 0) {
    LetGo(slot);
  } else {
    delete[] data;
  }
}

}  // namespace cf::internal
