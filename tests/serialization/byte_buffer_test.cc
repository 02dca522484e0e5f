// ByteBuffer: growth keeps the bytes, copies and moves, and a ByteBuffer::Allocator used for
// every allocation, carried by moves, not by copy construction, and left intact when it throws.
#include "cf/serialization/byte_buffer.h"

#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace cf {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(ByteBufferTest, GrowthKeepsTheBytes) {
  ByteBuffer buffer;
  const std::string bytes = Pattern(100'000);
  for (size_t i = 0; i < bytes.size(); i += 1000) buffer.Append(bytes.data() + i, 1000);
  EXPECT_EQ(buffer.view(), bytes);
  const size_t capacity = buffer.capacity();
  buffer.clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.capacity(), capacity);
  buffer.ReleaseMemory();
  EXPECT_EQ(buffer.capacity(), 0u);
  EXPECT_EQ(buffer.data(), nullptr);
}

TEST(ByteBufferTest, CopiesAndMoves) {
  ByteBuffer a;
  a.Append(Pattern(5000));
  ByteBuffer b = a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a.data(), b.data());
  ByteBuffer c = std::move(a);
  EXPECT_EQ(c, b);
  EXPECT_TRUE(a.empty());  // NOLINT: a moved-from buffer is empty
  a.Append("x", 1);        // and usable
  EXPECT_EQ(a.view(), "x");
  c = std::move(a);
  EXPECT_EQ(c.view(), "x");
  ByteBuffer& self = c;
  c = std::move(self);
  EXPECT_EQ(c.view(), "x");
}

// Records what it is asked for; fails (std::bad_alloc) above `limit` bytes.
class CountingAllocator : public ByteBuffer::Allocator {
 public:
  explicit CountingAllocator(size_t limit) : limit_(limit) {}
  ~CountingAllocator() override { EXPECT_EQ(live_, 0) << "a buffer's storage was not freed"; }

  char* Reallocate(char* old, size_t old_capacity, size_t keep, size_t capacity) override {
    ++reallocations;
    if (capacity > limit_) throw std::bad_alloc();
    EXPECT_LE(keep, old_capacity);
    char* fresh = new char[capacity];
    if (keep > 0) std::memcpy(fresh, old, keep);
    if (old != nullptr) Free(old, old_capacity);
    ++live_;
    return fresh;
  }
  void Free(char* data, size_t /*capacity*/) override {
    ++frees;
    --live_;
    delete[] data;
  }

  int reallocations = 0;
  int frees = 0;

 private:
  const size_t limit_;
  int live_ = 0;
};

TEST(ByteBufferTest, AnAllocatorGivesEveryByte) {
  CountingAllocator allocator(1 << 20);
  {
    ByteBuffer buffer(&allocator);
    EXPECT_EQ(buffer.allocator(), &allocator);
    const std::string bytes = Pattern(300'000);
    for (size_t i = 0; i < bytes.size(); i += 3000) buffer.Append(bytes.data() + i, 3000);
    EXPECT_EQ(buffer.view(), bytes);
    EXPECT_GT(allocator.reallocations, 1);

    ByteBuffer copy = buffer;  // copy construction: the heap
    EXPECT_EQ(copy.allocator(), nullptr);
    EXPECT_EQ(copy, buffer);

    ByteBuffer moved = std::move(buffer);  // the allocator goes along, nothing is freed
    const int frees = allocator.frees;
    EXPECT_EQ(moved.allocator(), &allocator);
    EXPECT_EQ(moved.view(), bytes);
    EXPECT_EQ(allocator.frees, frees);
  }  // every buffer freed (the allocator's destructor checks)
}

TEST(ByteBufferTest, AFailingAllocatorLeavesTheBytes) {
  CountingAllocator allocator(1500);
  ByteBuffer buffer(&allocator);
  buffer.Append(Pattern(600));
  EXPECT_THROW(buffer.AppendUninitialized(2000), std::bad_alloc);
  EXPECT_EQ(buffer.view(), Pattern(600));
  buffer.Append("y", 1);
  EXPECT_EQ(buffer.size(), 601u);
}

}  // namespace
}  // namespace cf
