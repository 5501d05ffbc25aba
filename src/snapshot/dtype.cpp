#include "mbuild/snapshot/dtype.hpp"

#include <array>

namespace mbuild {
namespace {

struct DtypeInfo {
  std::string_view name;
  unsigned bits;
  bool is_float;
};

// Order follows enum Dtype.
constexpr std::array<DtypeInfo, k_dtype_count> k_dtypes = {{
    {"F4", 4, true},      {"F6_E2M3", 6, true},     {"F6_E3M2", 6, true},     {"BOOL", 8, false},
    {"U8", 8, false},     {"I8", 8, false},         {"F8_E5M2", 8, true},     {"F8_E4M3", 8, true},
    {"F8_E8M0", 8, true}, {"F8_E4M3FNUZ", 8, true}, {"F8_E5M2FNUZ", 8, true}, {"I16", 16, false},
    {"U16", 16, false},   {"F16", 16, true},        {"BF16", 16, true},       {"I32", 32, false},
    {"U32", 32, false},   {"F32", 32, true},        {"I64", 64, false},       {"U64", 64, false},
    {"F64", 64, true},    {"C64", 64, true},
}};

}  // namespace

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (size_t i = 0; i < k_dtypes.size(); ++i) {
    if (k_dtypes[i].name == name) {
      return static_cast<Dtype>(i);
    }
  }
  return std::nullopt;
}

std::string_view dtype_name(Dtype dtype) {
  return k_dtypes[static_cast<size_t>(dtype)].name;
}

unsigned dtype_bits(Dtype dtype) {
  return k_dtypes[static_cast<size_t>(dtype)].bits;
}

bool dtype_is_float(Dtype dtype) {
  return k_dtypes[static_cast<size_t>(dtype)].is_float;
}

}  // namespace mbuild
