// ggml tensor types (the element types of GGUF files): id, name, block size and bytes per
// block, as llama.cpp's ggml defines them. One table; every figure about a GGUF type comes
// from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mbuild {

struct GgmlType {
  uint32_t id = 0;          // GGML_TYPE_* (stored in GGUF tensor infos; ids are never reused)
  std::string_view name;    // "Q4_K", as ggml_type_name spells it
  uint32_t block_size = 1;  // weights per block (blck_size)
  uint32_t type_size = 0;   // bytes per block
  // Bits per weight as a fraction: type_size * 8 / block_size.
  double bits_per_weight() const {
    return static_cast<double>(type_size) * 8.0 / static_cast<double>(block_size);
  }
};

// The type with this id, or nullptr when ggml has none (or removed it from GGUF files).
const GgmlType* ggml_type(uint32_t id);
// The type with this name (case-insensitive: "q4_k" or "Q4_K"), or nullptr.
const GgmlType* ggml_type_by_name(std::string_view name);

// Bytes a tensor of `elements` weights whose innermost dimension is `row` takes in `type`;
// nullopt when `row` is not a whole number of blocks or the size overflows.
std::optional<uint64_t> ggml_tensor_bytes(const GgmlType& type, uint64_t row, uint64_t elements);

// Every type the table knows, in id order.
struct GgmlTypeList {
  const GgmlType* begin_ptr;
  const GgmlType* end_ptr;
  const GgmlType* begin() const { return begin_ptr; }
  const GgmlType* end() const { return end_ptr; }
};
GgmlTypeList ggml_types();

}  // namespace mbuild
