// A fast hash for tensor names and name patterns (tens of bytes, tens of thousands of them):
// eight bytes per multiply instead of std::hash's byte-wise mixing. Not for untrusted-collision
// resistance: tables keyed by it probe linearly and compare the names themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mbuild {

inline uint64_t name_hash(std::string_view name) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ name.size();
  size_t i = 0;
  for (; i + 8 <= name.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, name.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
  }
  uint64_t w = 0;
  for (size_t k = 0; i + k < name.size(); ++k) {
    w |= uint64_t{static_cast<unsigned char>(name[i + k])} << (8 * k);
  }
  h = (h ^ w) * 0x94D049BB133111EBULL;
  return h ^ (h >> 31);
}

// name_hash as a hasher for standard containers.
struct NameHash {
  size_t operator()(std::string_view name) const { return static_cast<size_t>(name_hash(name)); }
};

}  // namespace mbuild
