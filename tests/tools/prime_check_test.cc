#include "cf/tools/prime_check.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace cf::tools {
namespace {

TEST(IsPrimeTest, AgreesWithASieve) {
  constexpr int kLimit = 200'000;
  std::vector<bool> composite(kLimit + 1, false);
  for (int i = 2; i * i <= kLimit; ++i) {
    if (composite[i]) continue;
    for (int j = i * i; j <= kLimit; j += i) composite[j] = true;
  }
  for (int n = -3; n <= kLimit; ++n) {
    const bool prime = n >= 2 && !composite[n];
    ASSERT_EQ(IsPrime(n), prime) << n;
  }
}

TEST(IsPrimeTest, LargeSquaresAndSemiprimes) {
  EXPECT_FALSE(IsPrime(int64_t{1000003} * 1000003));  // the square root itself divides
  EXPECT_FALSE(IsPrime(int64_t{1000003} * 1000033));
  EXPECT_TRUE(IsPrime(999999999989));
  EXPECT_TRUE(IsPrime(142702110479723));  // the tutorial's
}

TEST(CheckPrimeTest, ReportsNumberAnswerAndTime) {
  const PrimeResult r = CheckPrime(7919);
  EXPECT_EQ(r.n, 7919);
  EXPECT_TRUE(r.prime);
  EXPECT_GE(r.seconds, 0);
}

TEST(TutorialNumbersTest, StartsLikeTheTutorial) {
  const std::vector<int64_t>& numbers = TutorialNumbers();
  ASSERT_EQ(numbers.size(), 20u);
  EXPECT_EQ(numbers[0], 2);
  EXPECT_EQ(numbers[1], 142702110479723);
  EXPECT_EQ(numbers[2], 299593572317531);
}

}  // namespace
}  // namespace cf::tools
