// The GGUF header reader (llama.cpp's gguf format, versions 2 and 3, little-endian): metadata
// key/value pairs and tensor infos, never the tensor data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mbuild/snapshot/ggml_type.hpp"
#include "mbuild/snapshot/safetensors.hpp"
#include "mbuild/util/error.hpp"
#include "mbuild/util/finding.hpp"
#include "mbuild/util/name_store.hpp"

namespace mbuild {

// "GGUF" read as a little-endian uint32.
inline constexpr uint32_t k_gguf_magic = 0x46554747;
inline constexpr uint64_t k_gguf_default_alignment = 32;  // when general.alignment is absent
// Named limits for untrusted GGUF headers. A Llama-3 header (128k tokens and 280k merges) is
// ~9 MB; Gemma's 256k vocabulary with scores ~20 MB.
inline constexpr uint64_t k_max_gguf_header_bytes = 512'000'000;
inline constexpr uint64_t k_max_gguf_kv = 1'000'000;
inline constexpr uint64_t k_max_gguf_string_bytes = 64'000'000;  // a chat template, a key
inline constexpr uint64_t k_max_gguf_array_length = 100'000'000;
inline constexpr uint64_t k_max_gguf_name_bytes = 256;  // llama.cpp: GGML_MAX_NAME (64)
inline constexpr uint32_t k_max_gguf_dims = 4;          // GGML_MAX_DIMS

enum class GgufValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};
// "uint32", "string", ... as the GGUF specification names them.
std::string_view gguf_value_type_name(GgufValueType type);

// One metadata value: a scalar, or an array summarised by element type and length (the
// tokenizer's 128k tokens are counted, not kept).
struct GgufValue {
  GgufValueType type = GgufValueType::u8;
  std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string> scalar;
  GgufValueType array_type = GgufValueType::u8;  // for arrays
  uint64_t array_length = 0;
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

struct GgufHeader {
  uint32_t version = 0;
  uint64_t alignment = k_gguf_default_alignment;
  uint64_t header_bytes = 0;  // magic through the last tensor info
  uint64_t data_offset = 0;   // header_bytes rounded up to the alignment
  uint64_t data_bytes = 0;    // end of the last tensor, relative to data_offset
  std::vector<GgufKv> metadata;
  std::vector<TensorInfo> tensors;  // shapes row-major (ggml's ne reversed), like safetensors
  NameStore names;                  // what tensors[i].name views
  std::vector<Finding> findings;

  const GgufValue* find(std::string_view key) const;
  // A numeric scalar as an unsigned integer (nullopt when absent, negative or not integral).
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<double> get_number(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
};

// Whether the first bytes are the GGUF magic.
bool is_gguf(std::string_view first_bytes);

// How many leading bytes hold the whole header (magic through the last tensor info), given the
// file's first bytes and its size. When `prefix` is too short to tell, returns a number larger
// than prefix.size(): an estimate of the bytes to fetch (extrapolated from what was seen,
// capped at file_size) after which to ask again. Fails (bad_input naming `what`) on a
// malformed header, a header past the end of the file or over k_max_gguf_header_bytes.
Result<uint64_t> gguf_header_span(std::string_view what, std::string_view prefix,
                                  uint64_t file_size);

// Parses and validates a header. `bytes` starts at the file's first byte and holds at least the
// span; `file_size` is the whole file's size (the data region may be absent: an info note).
// Fails with bad_input naming `file` and what is wrong.
Result<GgufHeader> parse_gguf_header(std::string_view file, std::string_view bytes,
                                     uint64_t file_size);

// The dtype name a tensor is reported under: its ggml type for GGUF tensors ("Q4_K"), else
// its safetensors dtype.
std::string_view tensor_dtype_name(const TensorInfo& tensor);

// A split GGUF file name "<stem>-00001-of-00003.gguf": (stem, part, count); nullopt otherwise.
struct GgufSplitName {
  std::string stem;
  uint32_t part = 0;
  uint32_t count = 0;
};
std::optional<GgufSplitName> gguf_split_name(std::string_view file_name);

}  // namespace mbuild
