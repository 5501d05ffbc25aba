// What mbuild knows about each model family (a config's `model_type`), as data: how its
// config.json names fields, the values its transformers config class supplies when the file
// leaves them out, and the traits the later stages ask about. No stage outside arch/ compares a
// model_type with a literal; it asks this table.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace mbuild {

// How a family lays out its per-layer attention / mixer kinds when config.json lists none
// (`layer_types`, `full_attention_interval` and the like win over it).
enum class LayerSchedule : unsigned char {
  uniform,      // every layer alike: sliding when a window is set and used, else full
  gemma3,       // sliding, with every `sliding_window_pattern`-th layer full (default 6)
  alternating,  // sliding and full in turn, starting with sliding (Gemma 2, Command R7B)
  ssm,          // a Mamba mixer in every layer, no attention and no MLP
  rwkv,         // an RWKV block in every layer
  jamba,        // attention every `attn_layer_period` from `attn_layer_offset`, Mamba elsewhere;
                // experts every `expert_layer_period` from `expert_layer_offset`
  parallel_hybrid,  // attention and a Mamba-2 mixer side by side in every layer (Falcon-H1)
};

// Where a family's positions come from when its config and tensors do not say.
enum class PositionKind : unsigned char { rope, alibi, t5_relative, learned, none };

struct FamilyTraits {
  std::string_view model_type;
  LayerSchedule schedule = LayerSchedule::uniform;
  PositionKind position = PositionKind::rope;
  bool mlp_4x = false;            // intermediate_size is 4·hidden when the config omits it
  bool multi_query_flag = false;  // `multi_query` (without `new_decoder_architecture`): 1 KV head
  bool gated_ffn = false;         // the feed-forward is gated (gate + up), when no tensor says
  bool rms_norm = false;          // the norm is an RMSNorm though the config names no epsilon
  bool encoder_only = false;      // no decoder: no KV cache
  bool gated_query = false;       // q_proj holds a query and an output gate per head
  bool score_correction = false;  // the router has an e_score_correction_bias (noaux_tc)
  // DeepSeek sparse attention: every layer's MLA attends the keys a lightning indexer picks
  // (sparse_attention); `indexer_types` may leave some layers without an indexer of their own.
  bool sparse_indexer = false;
  // The SSM inner width is config.intermediate_size (Mamba-1's transformers config).
  bool ssm_width_is_intermediate = false;
  // The config field naming the dense feed-forward's width (Granite 4.0: every layer's
  // shared_mlp is shared_intermediate_size wide; intermediate_size is the experts').
  std::string_view dense_width_field = "intermediate_size";
  // The feed-forward width is intermediate_size (block_ff_dim) cut to 2/3, times
  // block_ffn_dim_multiplier, rounded up to block_multiple_of, when block_auto_adjust_ff_dim
  // (LFM2).
  bool ffn_width_adjusted = false;
};

// The traits of `model_type`; a family not in the table gets the defaults (every flag off,
// uniform schedule) with an empty model_type.
const FamilyTraits& family_traits(std::string_view model_type);

// Every family in the table (for tests and documentation).
std::span<const FamilyTraits> known_families();

// A canonical config field and the config.json keys that spell it (dotted paths,
// space-separated, in priority order): families name the same dimension differently (GPT-2
// n_embd, T5 d_model, MPT/DBRX attn_config, Falcon n_head_kv, ...).
struct ConfigAlias {
  std::string_view canonical;
  std::string_view paths;
};

// Every alias row; and the row of `canonical`, or nullptr when it has none (the field is then
// read under its own name).
std::span<const ConfigAlias> config_aliases();
const ConfigAlias* find_config_alias(std::string_view canonical);

// The value the family's transformers config class supplies for `canonical` when config.json
// leaves it out, or nullopt.
std::optional<double> family_default(std::string_view model_type, std::string_view canonical);

}  // namespace mbuild
