#include "mbuild/snapshot/ggml_type.hpp"

#include <cctype>
#include <iterator>

#include "util/checked.hpp"

namespace mbuild {
namespace {

// From llama.cpp ggml/include/ggml.h (enum ggml_type) and ggml/src/ggml.c (type_traits:
// blck_size, type_size), with the block structs of ggml/src/ggml-common.h. QK_K = 256.
// Ids 4, 5 (Q4_2, Q4_3), 31..33 (Q4_0_4_4 ...) and 36..38 (IQ4_NL_4_4 ...) were removed from
// GGUF files and are refused like any unknown id.
constexpr GgmlType k_types[] = {
    {0, "F32", 1, 4},         {1, "F16", 1, 2},
    {2, "Q4_0", 32, 18},     // half d + 16 nibble bytes
    {3, "Q4_1", 32, 20},     // half d, m + 16
    {6, "Q5_0", 32, 22},     // half d + 4 qh + 16
    {7, "Q5_1", 32, 24},     // half d, m + 4 qh + 16
    {8, "Q8_0", 32, 34},     // half d + 32
    {9, "Q8_1", 32, 36},     // half d, s + 32
    {10, "Q2_K", 256, 84},   // 16 scales + 64 qs + half d, dmin
    {11, "Q3_K", 256, 110},  // 32 hmask + 64 qs + 12 scales + half d
    {12, "Q4_K", 256, 144},  // half d, dmin + 12 scales + 128 qs
    {13, "Q5_K", 256, 176},  // half d, dmin + 12 scales + 32 qh + 128 qs
    {14, "Q6_K", 256, 210},  // 128 ql + 64 qh + 16 scales + half d
    {15, "Q8_K", 256, 292},  // float d + 256 qs + 16 int16 bsums
    {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136},
    {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},
    {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},  // 48 qs + 4 qh + half d
    {35, "TQ2_0", 256, 66},                            // 64 qs + half d
    {39, "MXFP4", 32, 17},                             // E8M0 scale + 16 nibble bytes
    {40, "NVFP4", 64, 36},  // 4 E4M3 scales (one per 16) + 32 nibble bytes
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const GgmlType* ggml_type(uint32_t id) {
  for (const GgmlType& t : k_types) {
    if (t.id == id) {
      return &t;
    }
  }
  return nullptr;
}

const GgmlType* ggml_type_by_name(std::string_view name) {
  for (const GgmlType& t : k_types) {
    if (iequals(t.name, name)) {
      return &t;
    }
  }
  return nullptr;
}

std::optional<uint64_t> ggml_tensor_bytes(const GgmlType& type, uint64_t row, uint64_t elements) {
  if (row % type.block_size != 0 || elements % type.block_size != 0) {
    return std::nullopt;
  }
  return checked_mul(elements / type.block_size, type.type_size);
}

GgmlTypeList ggml_types() {
  return {std::begin(k_types), std::end(k_types)};
}

}  // namespace mbuild
