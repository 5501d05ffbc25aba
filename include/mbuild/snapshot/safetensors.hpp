// The safetensors header reader (HUB_PROTOCOL.md §5).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mbuild/snapshot/dtype.hpp"
#include "mbuild/util/byte_buffer.hpp"
#include "mbuild/util/error.hpp"
#include "mbuild/util/finding.hpp"
#include "mbuild/util/name_store.hpp"

namespace mbuild {

// Named limits for untrusted headers.
inline constexpr uint64_t k_max_header_bytes = 100'000'000;  // the crate's MAX_HEADER_SIZE
inline constexpr uint64_t k_max_dim = uint64_t{1} << 48;     // the schema's 48-bit size cap
inline constexpr size_t k_max_rank = 10;
inline constexpr size_t k_max_tensors_per_file = 2'000'000;
// Tensor bytes one file may describe: a whole 10-trillion-parameter model in F32, five times the
// largest published checkpoints (~2T parameters, ~4 TB in BF16).
inline constexpr uint64_t k_max_file_data_bytes = 40'000'000'000'000;

// A tensor shape, stored inline: checkpoints hold tens of thousands of small shapes.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<uint64_t> dims) {
    for (uint64_t d : dims) {
      push_back(d);
    }
  }
  // Appends a dimension; false when the rank limit is reached.
  bool push_back(uint64_t d) {
    if (m_rank == k_max_rank) {
      return false;
    }
    m_dims[m_rank++] = d;
    return true;
  }
  size_t size() const { return m_rank; }
  bool empty() const { return m_rank == 0; }
  uint64_t operator[](size_t i) const { return m_dims[i]; }
  uint64_t back() const { return m_dims[m_rank - 1]; }
  const uint64_t* begin() const { return m_dims.data(); }
  const uint64_t* end() const { return m_dims.data() + m_rank; }
  bool operator==(const Shape& o) const {
    return m_rank == o.m_rank && std::equal(begin(), end(), o.begin());
  }

 private:
  std::array<uint64_t, k_max_rank> m_dims{};
  uint8_t m_rank = 0;
};

// TensorInfo::ggml_type of a tensor read from safetensors (GGUF tensors hold their GGML_TYPE id).
inline constexpr uint8_t k_no_ggml_type = 0xFF;

struct TensorInfo {
  std::string_view name;  // into the NameStore of the header or model that holds it
  Dtype dtype = Dtype::F32;
  // A GGUF tensor's ggml type id (dtype is then the nearest container: F32/F16/BF16/I*, U8 for
  // quantized blocks); k_no_ggml_type for safetensors.
  uint8_t ggml_type = k_no_ggml_type;
  Shape shape;
  uint64_t begin = 0;  // data_offsets, relative to the data region
  uint64_t end = 0;
  uint64_t elements = 1;  // product of shape (1 for a scalar)
  uint32_t file = 0;      // index of the file that holds it, set by the model builder
};

struct SafetensorsHeader {
  uint64_t header_length = 0;  // N, the JSON length after the 8-byte prefix
  uint64_t data_bytes = 0;     // end of the last tensor: the data region's size
  std::vector<TensorInfo> tensors;
  NameStore names;                                            // what tensors[i].name views
  std::vector<std::pair<std::string, std::string>> metadata;  // __metadata__, in file order
  std::vector<Finding> findings;
};

// How many leading bytes hold the header (8 + N), given the file's first bytes
// (at least 8 of them) and its size; fails when N is 0, over the cap or past the end.
Result<uint64_t> safetensors_header_span(std::string_view file, std::string_view first_bytes,
                                         uint64_t file_size);

// Parses and validates a header. `bytes` starts at the file's first byte and holds at least
// 8 + N bytes; `file_size` is the whole file's size (the data region may be absent: a note).
Result<SafetensorsHeader> parse_safetensors_header(std::string_view file, const ByteBuffer& bytes,
                                                   uint64_t file_size);
// The same, with the tensors written into `storage`'s memory (cleared first): a caller parsing
// many files reuses one vector's pages.
Result<SafetensorsHeader> parse_safetensors_header(std::string_view file, const ByteBuffer& bytes,
                                                   uint64_t file_size,
                                                   std::vector<TensorInfo> storage);
// The same, with the names of a plain header (no escapes) viewing into `bytes`, which the
// header's NameStore keeps alive: no copy of the names.
Result<SafetensorsHeader> parse_safetensors_header(std::string_view file,
                                                   const std::shared_ptr<const ByteBuffer>& bytes,
                                                   uint64_t file_size,
                                                   std::vector<TensorInfo> storage);
// The same for bytes without padding (copies them once).
Result<SafetensorsHeader> parse_safetensors_header(std::string_view file, std::string_view bytes,
                                                   uint64_t file_size);
// The same read by simdjson alone, without the plain-JSON fast path: the reference the fuzzer
// holds the fast path to (same tensors, metadata and errors).
Result<SafetensorsHeader> parse_safetensors_header_reference(std::string_view file,
                                                             const ByteBuffer& bytes,
                                                             uint64_t file_size);

// At most this many tensors fit in a header of `bytes` bytes (a tensor's entry takes at least
// 50 JSON bytes), for reserving a table before parsing.
size_t max_tensors_in_header(uint64_t bytes);

// Formats a shape as "(8192, 8192)", the way the CSV and reports show it.
std::string format_shape(const Shape& shape);

}  // namespace mbuild
