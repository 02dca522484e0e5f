#include "tests/serialization/fuzz_tasks.h"

#include <cstdint>
#include <future>
#include <stdexcept>
#include <string>
#include <system_error>

#include "cf/core/errors.h"
#include "cf/serialization/task.h"

namespace cf_fuzz {

std::uint64_t Strings(std::vector<std::string> strings, std::map<std::int32_t, std::string> map,
                      std::set<std::string> set) {
  std::uint64_t total = set.size();
  for (const auto& s : strings) total += s.size();
  for (const auto& [k, v] : map) total += v.size() + static_cast<std::uint32_t>(k);
  return total;
}
CF_TASK(cf_fuzz::Strings);

std::optional<Scalar> Variants(std::tuple<std::int32_t, double, std::string> tuple,
                               std::optional<std::vector<std::int64_t>> numbers, Scalar scalar) {
  if (numbers && !numbers->empty()) return Scalar(std::get<std::string>(tuple));
  if (std::get<0>(tuple) == 0) return std::nullopt;
  return scalar;
}
CF_TASK(cf_fuzz::Variants);

std::int64_t Pointers(std::shared_ptr<std::int32_t> a, std::shared_ptr<std::string> b,
                      std::unique_ptr<std::vector<std::int32_t>> c,
                      std::pair<std::shared_ptr<std::int32_t>, std::weak_ptr<std::int32_t>> d) {
  std::int64_t total = 0;
  if (a) total += *a;
  if (b) total += static_cast<std::int64_t>(b->size());
  if (c) total += static_cast<std::int64_t>(c->size());
  if (d.first) total += *d.first;
  if (auto locked = d.second.lock()) total += *locked;
  return total;
}
CF_TASK(cf_fuzz::Pointers);

Tree Trees(Tree tree) {
  tree.label += "*";
  return tree;
}
CF_TASK(cf_fuzz::Trees);

std::uint64_t Containers(std::deque<bool> a, std::vector<bool> b, std::list<std::u16string> c,
                         std::array<std::int32_t, 3> d, std::bitset<70> e,
                         std::unordered_map<std::string, std::vector<double>> f,
                         std::chrono::milliseconds g, std::complex<float> h,
                         std::valarray<std::int32_t> i, std::multiset<char> j,
                         std::forward_list<std::int16_t> k) {
  std::uint64_t total = a.size() + b.size() + c.size() + static_cast<std::uint32_t>(d[0]) +
                        e.count() + f.size() + static_cast<std::uint64_t>(g.count()) + i.size() +
                        j.size();
  for (auto v : k) total += static_cast<std::uint16_t>(v);
  return total + (h.real() > 0 ? 1 : 0);
}
CF_TASK(cf_fuzz::Containers);

std::int32_t Throws(std::int32_t code) {
  switch (code % 8) {
    case 1:
      throw std::out_of_range("fuzz out_of_range");
    case 2:
      throw cf::BrokenProcessPool("fuzz broken pool");
    case 3:
      throw std::system_error(std::make_error_code(std::errc::broken_pipe), "fuzz");
    case 4:
      throw code;
    case 5:
      throw std::future_error(std::future_errc::no_state);
    case 6:
      throw cf::RemoteError("fuzz::Remote", "fuzz remote");
    default:
      return code;
  }
}
CF_TASK(cf_fuzz::Throws);

void Nothing() {}
CF_TASK(cf_fuzz::Nothing);

}  // namespace cf_fuzz
