// The flat shape block of a model variant (inspect --format variant) and the invariants its
// numbers must keep, checked against the tensors where they show them (seed 003's variant
// constants: hidden, experts, linear attention, partial rotary, 4-bit expert layout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mbuild/analysis/param_count.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

struct Invariant {
  std::string name;  // "hidden % group_size == 0", ...
  bool holds = true;
  std::string detail;
};

struct VariantReport {
  // name -> value, in a fixed order; fields the config does not state are left out.
  std::vector<std::pair<std::string, double>> fields;
  std::vector<Invariant> invariants;
};

// Reads the shape fields from config.json (text part) and checks each invariant that applies:
// hidden divisible by the quantization group, top_k <= experts, heads divisible by kv heads,
// linear-attention value heads grouped over key heads and the conv width against conv1d's
// rows, the rotary width from partial_rotary_factor, and the bytes of one 4-bit expert
// (3 · (I·H·bits/8 + 2·2·I·H/group), MLX affine layout) against the expert tensors of the first
// MoE layer.
VariantReport variant_report(const Model& model, const ParamCount& params);

}  // namespace mbuild
