#include "cf/tools/progress/progress_bar.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

using ::testing::ElementsAre;

// A fake clock the test advances by hand, and a sink that records every write.
struct Harness {
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  std::vector<std::string> writes;
  ProgressBar::Options Options(ProgressBar::Mode mode) {
    ProgressBar::Options o;
    o.label = "primes";
    o.width = 10;
    o.mode = mode;
    o.clock = [this] { return now; };
    o.sink = [this](absl::string_view s) { writes.emplace_back(s); };
    return o;
  }
};

TEST(ProgressBarTest, RenderTerminalLine) {
  EXPECT_EQ(ProgressBar::RenderTerminal("primes", 10, 4, 10, absl::Seconds(2)),
            "primes [####......]  4/10  40%  2.0/s  ETA 0:03");
  EXPECT_EQ(ProgressBar::RenderTerminal("x", 4, 0, 3, absl::ZeroDuration()),
            "x [....] 0/3   0%  0.0/s  ETA ?");
  EXPECT_EQ(ProgressBar::RenderTerminal("x", 4, 3, 3, absl::Seconds(3)),
            "x [####] 3/3 100%  1.0/s  ETA 0:00");
}

TEST(ProgressBarTest, RenderPlainLine) {
  EXPECT_EQ(ProgressBar::RenderPlain("primes", 12, 25, absl::Seconds(3)),
            "primes: 12/25 (48%) 4.0/s ETA 0:03");
  EXPECT_EQ(ProgressBar::RenderPlain("n", 0, 0, absl::ZeroDuration()),
            "n: 0/0 (100%) 0.0/s ETA 0:00");
  EXPECT_EQ(ProgressBar::RenderPlain("long", 1, 7201, absl::Seconds(1)),
            "long: 1/7201 (0%) 1.0/s ETA 2:00:00");
}

TEST(ProgressBarTest, TerminalModeRedrawsOneLineInPlace) {
  Harness h;
  {
    ProgressBar bar(4, h.Options(ProgressBar::Mode::kTerminal));
    EXPECT_TRUE(bar.terminal());
    for (int i = 0; i < 4; ++i) {
      h.now += absl::Seconds(1);
      bar.Advance();
    }
    bar.Finish();
  }
  ASSERT_EQ(h.writes.size(), 6u);  // initial, 4 advances (1 s apart > 50 ms), final
  EXPECT_EQ(h.writes[0], "\rprimes [..........] 0/4   0%  0.0/s  ETA ?\x1b[K");
  EXPECT_EQ(h.writes[2], "\rprimes [#####.....] 2/4  50%  1.0/s  ETA 0:02\x1b[K");
  EXPECT_EQ(h.writes[5], "\rprimes [##########] 4/4 100%  1.0/s  ETA 0:00\x1b[K\n");
  for (const std::string& w : h.writes) EXPECT_EQ(w[0], '\r');
}

TEST(ProgressBarTest, TerminalRedrawIsThrottled) {
  Harness h;
  ProgressBar bar(1000, h.Options(ProgressBar::Mode::kTerminal));
  for (int i = 0; i < 999; ++i) bar.Advance();  // the clock does not move: no redraws
  EXPECT_EQ(h.writes.size(), 1u);
  bar.Advance();  // the last item always draws
  EXPECT_EQ(h.writes.size(), 2u);
}

TEST(ProgressBarTest, PlainModePrintsPeriodicLines) {
  Harness h;
  ProgressBar bar(10, h.Options(ProgressBar::Mode::kPlain));
  EXPECT_FALSE(bar.terminal());
  // 400 ms per item with a 1 s interval: lines at 1.2 s, 2.4 s and 3.6 s, then the last item.
  for (int i = 0; i < 10; ++i) {
    h.now += absl::Milliseconds(400);
    bar.Advance();
  }
  bar.Finish();
  bar.Finish();  // idempotent
  EXPECT_THAT(h.writes, ElementsAre("primes: 0/10 (0%) 0.0/s ETA ?\n",
                                    "primes: 3/10 (30%) 2.5/s ETA 0:03\n",
                                    "primes: 6/10 (60%) 2.5/s ETA 0:02\n",
                                    "primes: 9/10 (90%) 2.5/s ETA 0:00\n",
                                    "primes: 10/10 (100%) 2.5/s ETA 0:00\n"));
}

TEST(ProgressBarTest, NegativeTotalIsRejected) {
  Harness h;
  EXPECT_THROW(ProgressBar(-1, h.Options(ProgressBar::Mode::kPlain)), std::invalid_argument);
}

}  // namespace
}  // namespace cf
