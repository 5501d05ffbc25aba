// The layer mapper: every tensor of a model placed in exactly one layer unit (layer 12's
// attention, the final norm, ...), what each unit's tensors show read into typed facts, each
// unit cut into parts that an estimator class models (a catalog class and its constructor
// arguments), and identical parts grouped into the entries of the emitted config.
//
//   tensors --place--> units --read--> facts --parts--> parts --group--> entries
//
// Only the last step makes JSON (an entry's constructor arguments, which are the catalog's
// data); everything before it is typed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/model/tensor_name.hpp"

namespace mbuild {

// The classes the mapper emits: the estimator's catalog, and those it lacks (each with a gap
// report). The first eight are the catalog's; a part of one of them is exact under its formula.
namespace layer_class {
inline constexpr std::string_view embedding = "EmbeddingLayer";
inline constexpr std::string_view attention = "AttentionLayer";
inline constexpr std::string_view gqa = "GroupedQueryAttentionLayer";
inline constexpr std::string_view sliding = "SlidingWindowAttentionLayer";
inline constexpr std::string_view mlp = "MLPLayer";
inline constexpr std::string_view gated_mlp = "GatedMLPLayer";
inline constexpr std::string_view moe = "MoELayer";
inline constexpr std::string_view norm = "NormLayer";
// Modules no catalog class has.
inline constexpr std::string_view mla = "MultiHeadLatentAttentionLayer";
// DSA's lightning indexer (DeepSeek-V3.2, GLM-5): picks the keys each query attends.
inline constexpr std::string_view lightning_indexer = "LightningIndexerLayer";
inline constexpr std::string_view gated_deltanet = "GatedDeltaNetLayer";
inline constexpr std::string_view mamba = "MambaMixerLayer";
inline constexpr std::string_view short_conv = "ShortConvLayer";
inline constexpr std::string_view rwkv_time_mix = "RWKVTimeMixLayer";
inline constexpr std::string_view rwkv_channel_mix = "RWKVChannelMixLayer";
inline constexpr std::string_view gated_attention = "GatedAttentionLayer";
inline constexpr std::string_view cross_attention = "CrossAttentionLayer";
inline constexpr std::string_view output_head = "OutputHeadLayer";
inline constexpr std::string_view mtp = "MultiTokenPredictionLayer";
inline constexpr std::string_view vision = "VisionTowerLayer";
inline constexpr std::string_view buffer = "Buffer";
inline constexpr std::string_view unknown = "UnknownLayer";
// What a catalog class leaves of a module it otherwise covers exactly.
inline constexpr std::string_view attention_bias = "AttentionBiasLayer";
inline constexpr std::string_view attention_sinks = "AttentionSinksLayer";
inline constexpr std::string_view relative_position_bias = "RelativePositionBiasLayer";
inline constexpr std::string_view mlp_bias = "MLPBiasLayer";
inline constexpr std::string_view router_bias = "MoERouterBiasLayer";
inline constexpr std::string_view expert_bias = "ExpertBiasLayer";
inline constexpr std::string_view shared_expert_gate = "SharedExpertGateLayer";
// A module of a catalog kind whose tensors no catalog class sizes exactly.
inline constexpr std::string_view custom_attention = "CustomAttentionLayer";
inline constexpr std::string_view custom_mlp = "CustomMLPLayer";
inline constexpr std::string_view custom_moe = "CustomMoELayer";
inline constexpr std::string_view custom_norm = "CustomNormLayer";
inline constexpr std::string_view custom_embedding = "CustomEmbeddingLayer";
}  // namespace layer_class

// ---------------------------------------------------------------------------------------
// Facts: what a unit's tensors show, by kind of unit. Dimensions come from logical parameter
// counts (packed quantized weights read like plain ones) divided by the known side.

struct BufferShape {
  uint64_t elements = 0;
};

struct HeadShape {
  bool lm_head = false;  // the output projection (else another head: pooler, NSP)
  uint64_t hidden_size = 0;
  uint64_t vocab_size = 0;   // lm_head only
  uint64_t output_size = 0;  // other heads
  bool has_bias = false;
};

struct NormShape {
  uint64_t hidden_size = 0;  // the norm's width
  bool has_bias = false;
};

struct EmbeddingShape {
  uint64_t vocab_size = 0;  // rows
  uint64_t hidden_size = 0;
};

// Softmax attention: q/k/v/o, separate or fused.
struct AttentionShape {
  bool cross = false;    // attends to an encoder's output
  bool sliding = false;  // config.json makes this layer a sliding-window one
  uint64_t hidden_size = 0;
  uint64_t num_heads = 0;
  uint64_t num_kv_heads = 0;
  uint64_t head_dim = 0;
  uint64_t sliding_window = 0;
  uint64_t num_sinks = 0;    // learned per-head sink logits (gpt-oss)
  bool has_bias = false;     // any bias tensor
  bool output_gate = false;  // q_proj also holds a per-head output gate (Qwen3-Next)
};

// Multi-head latent attention (DeepSeek-V2/V3).
struct MlaShape {
  uint64_t hidden_size = 0;
  uint64_t num_heads = 0;
  uint64_t q_lora_rank = 0;
  uint64_t kv_lora_rank = 0;
  uint64_t qk_nope_head_dim = 0;
  uint64_t qk_rope_head_dim = 0;
  uint64_t v_head_dim = 0;
};

// Gated delta-net linear attention (Qwen3-Next).
struct DeltaNetShape {
  uint64_t hidden_size = 0;
  uint64_t num_key_heads = 0;
  uint64_t num_value_heads = 0;
  uint64_t key_head_dim = 0;
  uint64_t value_head_dim = 0;
  uint64_t conv_kernel = 0;
};

struct MambaShape {
  uint64_t hidden_size = 0;
  uint64_t d_inner = 0;
  uint64_t d_state = 0;
  uint64_t d_conv = 0;
  uint64_t dt_rank = 0;
  bool mamba2 = false;
};

// LFM2's gated short convolution: in_proj to B, C, x; a depthwise conv over `cache` tokens;
// out_proj.
struct ShortConvShape {
  uint64_t hidden_size = 0;
  uint64_t conv_dim = 0;
  uint64_t cache = 0;  // conv_L_cache: the kernel width
  bool has_bias = false;
};

struct RwkvShape {
  bool time_mix = false;  // else channel mix
  uint64_t hidden_size = 0;
  uint64_t width = 0;  // attention_hidden_size (time mix) or intermediate_size (channel mix)
};

struct MlpShape {
  uint64_t hidden_size = 0;
  uint64_t intermediate_size = 0;
  bool gated = false;
  bool has_bias = false;
};

struct MoeShape {
  uint64_t hidden_size = 0;
  uint64_t intermediate_size = 0;
  uint64_t num_experts = 0;
  uint64_t top_k = 0;
  uint64_t num_shared_experts = 0;
  uint64_t num_projections = 0;
  bool has_bias = false;                                    // the routed experts'
  std::optional<uint64_t> shared_expert_intermediate_size;  // when not a multiple of the experts'
  std::string scoring_func = "softmax";  // config.json's, for the router's description
  std::string topk_method = "greedy";
};

struct VisionShape {
  enum Part { layer, embeddings, projector } part = layer;
  uint64_t hidden_size = 0;
  uint64_t num_heads = 0;          // layer
  uint64_t intermediate_size = 0;  // layer
  uint64_t patch_size = 0;         // embeddings
  uint64_t image_size = 0;         // embeddings
  uint64_t text_hidden_size = 0;   // projector
};

struct MtpShape {
  uint64_t hidden_size = 0;
  uint64_t num_experts = 0;
};

struct UnknownShape {};

using UnitShape = std::variant<UnknownShape, BufferShape, HeadShape, NormShape, EmbeddingShape,
                               AttentionShape, MlaShape, DeltaNetShape, MambaShape, ShortConvShape,
                               RwkvShape, MlpShape, MoeShape, VisionShape, MtpShape>;

// One instance of a module: layer 12's attention, layer 3's input norm, the final norm, ...
struct LayerUnit {
  std::string name;               // "attention", "mlp", "moe", "norm", ...
  std::optional<uint32_t> layer;  // the block index, nullopt for global units
  std::string scope;              // "" (the language model), "encoder", "decoder", "vision", "mtp"
  std::string module;             // the module path the unit was keyed on
  std::vector<size_t> tensors;    // indices into Model::tensors, in model order
  uint64_t params = 0;            // Σ logical params of its tensors (DESIGN.md convention)
  UnitShape shape;
  int order = 0;  // sort key: where the unit sits in the model
};

// What one entry stands for in one unit: a class and its constructor arguments, and the
// unit's tensors it covers. A unit is one part, or several when no class covers it whole.
struct LayerPart {
  size_t unit = 0;  // index into LayerMap::units
  std::string name;
  std::string layer_class;
  std::optional<uint32_t> layer;
  std::vector<size_t> tensors;  // indices into Model::tensors
  uint64_t params = 0;
  nlohmann::ordered_json specs;  // constructor arguments (no layer_idx, no parameter_count)
  int order = 0;                 // sort key: the unit's, then
  std::string module;            // the unit's module ("#router" added for a router part)
};

// What the shapes of a unit say about one config.json field, for validation to compare
// (report/layer_checks). `expected` is set when the value to compare with is not a config
// field's (a sum of others, a product); `field` then labels it. A reading with `text` set is a
// finding of its own (a tensor no rule knows), kept in order with the others.
struct ShapeReading {
  std::string where;  // "layer 12 attention", "encoder layer 3 mlp", "norm"
  std::string text;
  std::string what;
  std::optional<uint64_t> shapes;
  std::string field;
  std::optional<uint64_t> expected;
};

// Identical parts grouped: one `layer_types` entry of the emitted config.
struct LayerEntry {
  std::string name;
  std::string layer_class;
  uint64_t count = 0;
  uint64_t parameter_count = 0;  // per part
  nlohmann::ordered_json specs;  // layer_idx, the constructor arguments, parameter_count
  std::vector<size_t> parts;     // indices into LayerMap::parts; the first is representative
};

struct LayerMap {
  std::vector<LayerUnit> units;
  std::vector<size_t> unit_of_tensor;  // parallel to Model::tensors
  std::vector<LayerPart> parts;
  std::vector<LayerEntry> entries;  // stable order: embeddings, layers by index, heads
  uint64_t total = 0;               // Σ count × parameter_count (== ParamCount::total)
  // Per decoder layer (config.json's num_hidden_layers), what the tensors show: the token
  // mixer and the feed-forward; nullopt where the tensors show none.
  std::vector<std::optional<MixerKind>> layer_mixers;
  std::vector<std::optional<FfnKind>> layer_ffns;
  std::vector<bool> layer_present;     // some tensor of the language model's layer i exists
  std::vector<bool> layer_indexer;     // layer i's attention holds a DSA indexer's tensors
  std::vector<ShapeReading> readings;  // what the shapes say, in unit order
};

// Places every tensor of `model` (classified by count_params into `params`), cuts the units
// into parts `catalog`'s classes size exactly (and the rest), and groups the parts. Never
// fails: tensors no rule knows land in "UnknownLayer" units, with a reading that says so.
// Comparing what the shapes say with config.json is validation's (report/layer_checks.hpp).
LayerMap map_layers(const Model& model, const ParamCount& params,
                    const Catalog& catalog = builtin_catalog());

// The first steps of the map alone: units placed and read, and the per-layer kinds (no parts,
// no entries). What the layer pattern and the KV cache need of the tensors.
LayerMap read_layers(const Model& model, const ParamCount& params);

}  // namespace mbuild
