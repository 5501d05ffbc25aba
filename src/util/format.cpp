#include "util/format.hpp"

#include <iterator>

#include <fmt/format.h>

namespace mbuild {

std::string format_count(uint64_t n) {
  const auto d = static_cast<double>(n);
  if (n >= 1'000'000'000'000ULL) {
    return fmt::format("{:.2f}T", d / 1e12);
  }
  if (n >= 1'000'000'000ULL) {
    return fmt::format("{:.2f}B", d / 1e9);
  }
  if (n >= 1'000'000ULL) {
    return fmt::format("{:.2f}M", d / 1e6);
  }
  if (n >= 1'000ULL) {
    return fmt::format("{:.2f}K", d / 1e3);
  }
  return fmt::format("{}", n);
}

std::string format_grouped(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

std::string format_bytes(uint64_t n) {
  constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  auto d = static_cast<double>(n);
  size_t unit = 0;
  while (d >= 1024 && unit + 1 < std::size(k_units)) {
    d /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", n) : fmt::format("{:.2f} {}", d, k_units[unit]);
}

}  // namespace mbuild
