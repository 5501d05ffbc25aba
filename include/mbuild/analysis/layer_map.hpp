// The layer mapper: every tensor of a model placed in exactly one layer unit (a layer index or
// global, a component, a layer class), units grouped into the layer types an estimator loads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/analysis/param_count.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/util/finding.hpp"

namespace mbuild {

// The classes the mapper emits beyond the estimator's built-in catalog.
namespace layer_class {
inline constexpr std::string_view embedding = "EmbeddingLayer";
inline constexpr std::string_view attention = "AttentionLayer";
inline constexpr std::string_view gqa = "GroupedQueryAttentionLayer";
inline constexpr std::string_view sliding = "SlidingWindowAttentionLayer";
inline constexpr std::string_view mlp = "MLPLayer";
inline constexpr std::string_view gated_mlp = "GatedMLPLayer";
inline constexpr std::string_view moe = "MoELayer";
inline constexpr std::string_view norm = "NormLayer";
inline constexpr std::string_view mla = "MultiHeadLatentAttentionLayer";
inline constexpr std::string_view gated_deltanet = "GatedDeltaNetLayer";
inline constexpr std::string_view mamba = "MambaMixerLayer";
inline constexpr std::string_view rwkv_time_mix = "RWKVTimeMixLayer";
inline constexpr std::string_view rwkv_channel_mix = "RWKVChannelMixLayer";
inline constexpr std::string_view attention_sinks = "AttentionWithSinksLayer";
inline constexpr std::string_view cross_attention = "CrossAttentionLayer";
inline constexpr std::string_view output_head = "OutputHeadLayer";
inline constexpr std::string_view mtp = "MultiTokenPredictionLayer";
inline constexpr std::string_view vision = "VisionTowerLayer";
inline constexpr std::string_view router = "MoERouterLayer";
inline constexpr std::string_view buffer = "Buffer";
inline constexpr std::string_view unknown = "UnknownLayer";
}  // namespace layer_class

// One instance of a layer: layer 12's attention, layer 3's input norm, the final norm, ...
struct LayerUnit {
  std::string name;               // entry name: "attention", "mlp", "moe", "norm", ...
  std::string layer_class;        // one of layer_class::*
  std::optional<uint32_t> layer;  // the block index, nullopt for global units
  std::string scope;              // "" (the language model), "encoder", "decoder", "vision", "mtp"
  std::string module;             // the module path the unit was keyed on
  std::vector<size_t> tensors;    // indices into Model::tensors, in model order
  uint64_t params = 0;            // Σ logical params of its tensors (DESIGN.md convention)
  nlohmann::ordered_json specs;   // constructor parameters read off the shapes
  int order = 0;                  // sort key: where the unit sits in the model
};

// Identical units grouped: one `layer_types` entry of the emitted config.
struct LayerEntry {
  std::string name;
  std::string layer_class;
  uint64_t count = 0;
  uint64_t parameter_count = 0;  // per unit
  nlohmann::ordered_json specs;  // layer_idx, the constructor parameters, parameter_count
  std::vector<size_t> units;     // indices into LayerMap::units; the first is representative
};

struct LayerMap {
  std::vector<LayerUnit> units;
  std::vector<size_t> unit_of_tensor;    // parallel to Model::tensors
  std::vector<LayerEntry> entries;       // stable order: embeddings, layers by index, heads
  uint64_t total = 0;                    // Σ count × parameter_count (== ParamCount::total)
  std::vector<std::string> layer_kinds;  // per decoder layer, as the tensors show them
  std::vector<Finding> findings;         // shapes that disagree with config.json, and the like
};

// Places every tensor of `model` (classified by count_params into `params`) and groups the
// units. Never fails: tensors no rule knows land in "UnknownLayer" units, with a finding.
LayerMap map_layers(const Model& model, const ParamCount& params);

// "model.layers.12.self_attn.q_proj.weight" -> "model.layers.12.self_attn.q_proj": the module
// a tensor belongs to (quantization suffixes such as ".weight.absmax" stripped too).
std::string module_of(std::string_view tensor_name);

}  // namespace mbuild
