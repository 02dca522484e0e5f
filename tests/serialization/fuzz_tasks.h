// Tasks and types the frame fuzzer drives (frame_fuzzer.cc) and the seed corpus exercises
// (make_fuzz_corpus.cc): between them they reach every kind of value cf supports.
#ifndef TESTS_SERIALIZATION_FUZZ_TASKS_H_
#define TESTS_SERIALIZATION_FUZZ_TASKS_H_

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <valarray>
#include <variant>
#include <vector>

namespace cf_fuzz {

struct Tree {
  std::int32_t value = 0;
  std::string label;
  std::vector<Tree> children;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(value, label, children);
  }
};

using Scalar = std::variant<std::int32_t, std::string, double>;

std::uint64_t Strings(std::vector<std::string> strings, std::map<std::int32_t, std::string> map,
                      std::set<std::string> set);
std::optional<Scalar> Variants(std::tuple<std::int32_t, double, std::string> tuple,
                               std::optional<std::vector<std::int64_t>> numbers, Scalar scalar);
std::int64_t Pointers(std::shared_ptr<std::int32_t> a, std::shared_ptr<std::string> b,
                      std::unique_ptr<std::vector<std::int32_t>> c,
                      std::pair<std::shared_ptr<std::int32_t>, std::weak_ptr<std::int32_t>> d);
Tree Trees(Tree tree);
std::uint64_t Containers(std::deque<bool> a, std::vector<bool> b, std::list<std::u16string> c,
                         std::array<std::int32_t, 3> d, std::bitset<70> e,
                         std::unordered_map<std::string, std::vector<double>> f,
                         std::chrono::milliseconds g, std::complex<float> h,
                         std::valarray<std::int32_t> i, std::multiset<char> j,
                         std::forward_list<std::int16_t> k);
std::int32_t Throws(std::int32_t code);
void Nothing();

}  // namespace cf_fuzz

#endif  // TESTS_SERIALIZATION_FUZZ_TASKS_H_
