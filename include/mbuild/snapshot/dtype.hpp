// safetensors dtypes: names and bit widths, as the reference crate defines them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mbuild {

enum class Dtype : uint8_t {
  F4,
  F6_E2M3,
  F6_E3M2,
  BOOL,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  I64,
  U64,
  F64,
  C64,
};

inline constexpr int k_dtype_count = static_cast<int>(Dtype::C64) + 1;

// The dtype for a safetensors dtype string, or nullopt when the crate does not know it.
std::optional<Dtype> parse_dtype(std::string_view name);

std::string_view dtype_name(Dtype dtype);

// Bits one element occupies on disk (4 for F4, 6 for F6_*, 8..64 otherwise).
unsigned dtype_bits(Dtype dtype);

// True for the floating-point dtypes a model's weights are usually held in.
bool dtype_is_float(Dtype dtype);

}  // namespace mbuild
