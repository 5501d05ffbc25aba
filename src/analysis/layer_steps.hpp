// The layer mapper's steps (layer_map.hpp), each in a file of its own:
//   layer_place.cpp  tensors -> units (scope, slot, layer, module key)
//   layer_read.cpp   units -> typed facts read off the shapes, and what the shapes say about
//                    config fields (readings)
//   layer_parts.cpp  facts -> parts: an estimator class and its constructor arguments
//   layer_group.cpp  per-layer kinds the tensors show; identical parts -> entries
// What the shapes say about config.json (readings) is compared with it by validation
// (report/layer_checks.cpp), once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/analysis/layer_map.hpp"

namespace mbuild {

// Which part of a block a tensor belongs to.
enum class Slot { buffer, head, norm, embedding, moe, cross_attention, mixer, mlp, other };

// What the steps need of a tensor's name, parsed once at placement.
struct NameFacts {
  Leaf leaf;
  std::optional<uint32_t> expert;   // N of "experts.N"
  bool under_experts = false;       // a segment "experts" or "switch_mlp"
  bool routed_expert = false;       // in an MoE unit, under "experts"/"switch_mlp" (not the leaf)
  bool shared_expert = false;       // a segment containing "shared_expert"
  bool shared_expert_gate = false;  // a segment "shared_expert_gate"
};

// Everything the steps share: the inputs, and per-tensor / per-unit scratch.
struct MapContext {
  MapContext(const Model& m, const ParamCount& p, const Catalog& c);

  const Model& model;
  const ParamCount& params;
  const Catalog* catalog;
  const ModelConfig* cfg = nullptr;
  uint64_t num_layers = 0;
  uint64_t mtp_layers = 0;
  std::vector<NameFacts> names;    // per tensor
  std::vector<Slot> slot_of_unit;  // per unit

  std::optional<uint64_t> cfg_count(std::string_view field) const;
};

void place_units(MapContext& ctx, LayerMap& out);
void read_shapes(MapContext& ctx, LayerMap& out);
void cut_parts(const MapContext& ctx, LayerMap& out);
void read_layer_kinds(const MapContext& ctx, LayerMap& out);
void group_parts(LayerMap& out);

// "layer 12 attention", "encoder layer 3 mlp", "norm": where a unit's finding is.
std::string unit_where(const LayerUnit& u);

// A tensor of a DSA lightning indexer (self_attn.indexer.*: DeepSeek-V3.2, GLM-5), which sits
// in its layer's MLA unit.
inline bool is_indexer_tensor(std::string_view name) {
  return name.find(".indexer.") != std::string_view::npos;
}

}  // namespace mbuild
