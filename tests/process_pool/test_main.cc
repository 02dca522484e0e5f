// main() of the process-pool tests: cf::InitProcessPool first, so this very binary can serve as
// a spawned worker or fork server (and kAuto means kForkServer here).
#include "cf/process_pool/process_pool_executor.h"
#include "gtest/gtest.h"

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
