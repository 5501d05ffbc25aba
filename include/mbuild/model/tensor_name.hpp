// Tensor names, parsed in one place: "model.layers.12.self_attn.q_proj.weight" lower-cased and
// split at dots, its layer index, its leaf (the module a tensor belongs to and whether it is
// that module's weight or bias), and the name's pattern ("model.layers.#.self_attn...") that
// caches per-name answers. Parameter counting and the layer mapper read names only through it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mbuild {

// A lower-cased tensor name and its dot-separated segments, split once. Names are nearly
// always lower case already; only the rare one with capitals is copied. At most
// k_max_segments segments are kept: a longer name keeps its first ones and its last.
class TensorName {
 public:
  static constexpr size_t k_max_segments = 32;

  explicit TensorName(std::string_view name);
  TensorName(const TensorName&) = delete;
  TensorName& operator=(const TensorName&) = delete;

  std::string_view lower() const { return m_view; }
  const std::string_view* begin() const { return m_segments.data(); }
  const std::string_view* end() const { return m_segments.data() + m_count; }
  size_t size() const { return m_count; }
  std::string_view operator[](size_t i) const { return m_segments[i]; }
  std::string_view back() const { return m_segments[m_count - 1]; }

  // Whether a segment equals `token` / contains `token`.
  bool has_segment(std::string_view token) const;
  bool has_segment_containing(std::string_view token) const;

  // The routed expert's index of "...experts.17.up_proj.weight", or nullopt.
  std::optional<uint32_t> expert_index() const;

 private:
  std::string_view m_view;
  std::string m_copy;
  std::array<std::string_view, k_max_segments> m_segments{};
  size_t m_count = 0;
};

// Whether a (lower-case) segment names a tensor of a module rather than a module: "weight",
// "bias", "qweight", "scales", ...
bool is_param_segment(std::string_view segment);

// What a tensor is inside its module, for reading specs off shapes.
struct Leaf {
  std::string module;  // lower-cased leaf module name: "q_proj", "gate_up_proj", "a_log", ...
  enum Kind { weight, bias, param } kind = param;
};
Leaf leaf_of(const TensorName& name);

// "model.layers.12.self_attn.q_proj.weight" -> "model.layers.12.self_attn.q_proj": the module
// a tensor belongs to (quantization suffixes such as ".weight.absmax" stripped too).
std::string module_of(std::string_view tensor_name);

// A tensor name's pattern: lower-cased, all-digit segments as "#", each segment followed by
// '.'; long names are cut at k_max_pattern bytes (the rules then run uncached).
constexpr size_t k_max_pattern = 256;
constexpr size_t k_block = 16;  // bytes per vector step; buffers keep this much slack
struct NamePattern {
  std::array<char, k_max_pattern + k_block> bytes;
  size_t size = 0;
  bool complete = true;
  std::string_view view() const { return {bytes.data(), size}; }
};

// One pass over a tensor name: its pattern and its layer index, the first all-digit segment
// right after a layer container ("layers.12." -> 12). It reads at most 32 segments.
void scan_name(std::string_view name, NamePattern& pattern, std::optional<uint32_t>& layer);

}  // namespace mbuild
