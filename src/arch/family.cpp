#include "mbuild/arch/family.hpp"

#include <array>

namespace mbuild {
namespace {

using enum LayerSchedule;
using enum PositionKind;

// One row per family (designated fields in declaration order; those not named keep their
// defaults). Sorted by model_type.
constexpr std::array k_families = {
    FamilyTraits{.model_type = "albert", .encoder_only = true},
    FamilyTraits{.model_type = "bert", .position = learned, .encoder_only = true},
    FamilyTraits{.model_type = "bloom", .position = alibi, .mlp_4x = true},
    FamilyTraits{.model_type = "cohere2", .schedule = alternating},
    FamilyTraits{.model_type = "deberta", .encoder_only = true},
    FamilyTraits{.model_type = "deberta-v2", .encoder_only = true},
    FamilyTraits{.model_type = "deepseek_v2", .gated_ffn = true},
    FamilyTraits{.model_type = "deepseek_v3", .gated_ffn = true, .score_correction = true},
    FamilyTraits{.model_type = "deepseek_v32",
                 .gated_ffn = true,
                 .score_correction = true,
                 .sparse_indexer = true},
    FamilyTraits{.model_type = "distilbert", .position = learned, .encoder_only = true},
    FamilyTraits{.model_type = "electra", .encoder_only = true},
    FamilyTraits{.model_type = "falcon", .mlp_4x = true, .multi_query_flag = true},
    FamilyTraits{.model_type = "falcon_h1",
                 .schedule = parallel_hybrid,
                 .gated_ffn = true,
                 .rms_norm = true},
    FamilyTraits{.model_type = "falcon_mamba",
                 .schedule = ssm,
                 .rms_norm = true,
                 .ssm_width_is_intermediate = true},
    FamilyTraits{.model_type = "gemma", .gated_ffn = true},
    FamilyTraits{.model_type = "gemma2", .schedule = alternating, .gated_ffn = true},
    FamilyTraits{.model_type = "gemma3", .schedule = gemma3, .gated_ffn = true},
    FamilyTraits{.model_type = "gemma3_text", .schedule = gemma3, .gated_ffn = true},
    // Gemma 3n: layer_types when stated, else every fifth layer full (sliding_window_pattern).
    FamilyTraits{.model_type = "gemma3n", .schedule = gemma3, .gated_ffn = true},
    FamilyTraits{.model_type = "gemma3n_text", .schedule = gemma3, .gated_ffn = true},
    FamilyTraits{.model_type = "glm_moe_dsa",
                 .gated_ffn = true,
                 .score_correction = true,
                 .sparse_indexer = true},
    FamilyTraits{.model_type = "gpt2", .position = learned, .mlp_4x = true},
    FamilyTraits{.model_type = "gpt_bigcode", .position = learned, .mlp_4x = true},
    FamilyTraits{.model_type = "gpt_oss", .gated_ffn = true},
    // Granite 4.0: Mamba-2 or attention per layer_types, then routed experts (when
    // num_local_experts > 0) beside a shared_mlp in every layer.
    FamilyTraits{.model_type = "granitemoehybrid",
                 .gated_ffn = true,
                 .rms_norm = true,
                 .dense_width_field = "shared_intermediate_size"},
    // Jamba's attention layers apply no rotary embedding: the Mamba layers carry position.
    FamilyTraits{.model_type = "jamba", .schedule = jamba, .position = none, .gated_ffn = true},
    // Kimi K2: DeepSeek-V3's layout under its own model_type (MLA, noaux_tc router).
    FamilyTraits{.model_type = "kimi_k2", .gated_ffn = true, .score_correction = true},
    // Kimi Linear: KDA (gated delta-rule linear attention) layers between MLA layers, the
    // layer lists in linear_attn_config; DeepSeek-style MoE with a noaux_tc router.
    FamilyTraits{.model_type = "kimi_linear", .gated_ffn = true, .score_correction = true},
    FamilyTraits{
        .model_type = "lfm2", .gated_ffn = true, .rms_norm = true, .ffn_width_adjusted = true},
    FamilyTraits{.model_type = "llama", .gated_ffn = true},
    FamilyTraits{.model_type = "mamba",
                 .schedule = ssm,
                 .rms_norm = true,
                 .ssm_width_is_intermediate = true},
    FamilyTraits{.model_type = "mamba2", .schedule = ssm, .rms_norm = true},
    FamilyTraits{.model_type = "minimax_m2", .gated_ffn = true, .score_correction = true},
    FamilyTraits{.model_type = "ministral3", .gated_ffn = true},
    FamilyTraits{.model_type = "mistral", .gated_ffn = true},
    FamilyTraits{.model_type = "mistral3", .gated_ffn = true},
    FamilyTraits{.model_type = "mixtral", .gated_ffn = true},
    FamilyTraits{.model_type = "modernbert", .encoder_only = true},
    FamilyTraits{.model_type = "mpt", .mlp_4x = true},
    FamilyTraits{.model_type = "nemotron_h", .rms_norm = true, .score_correction = true},
    FamilyTraits{.model_type = "mt5", .position = t5_relative},
    FamilyTraits{.model_type = "olmo2", .gated_ffn = true},
    FamilyTraits{.model_type = "opt", .position = learned},
    FamilyTraits{.model_type = "phi3", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen2", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen2_moe", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen3", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen3_moe", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen3_next", .gated_ffn = true, .gated_query = true},
    FamilyTraits{.model_type = "qwen3_vl", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen3_vl_moe", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen3_vl_moe_text", .gated_ffn = true},
    FamilyTraits{.model_type = "qwen3_vl_text", .gated_ffn = true},
    FamilyTraits{.model_type = "RefinedWeb", .mlp_4x = true, .multi_query_flag = true},
    FamilyTraits{.model_type = "RefinedWebModel", .mlp_4x = true, .multi_query_flag = true},
    FamilyTraits{.model_type = "roberta", .position = learned, .encoder_only = true},
    FamilyTraits{.model_type = "rwkv", .schedule = rwkv},
    FamilyTraits{.model_type = "rwkv5", .schedule = rwkv},
    FamilyTraits{.model_type = "rwkv6", .schedule = rwkv},
    FamilyTraits{.model_type = "rwkv7", .schedule = rwkv},
    FamilyTraits{.model_type = "smollm3", .gated_ffn = true},
    FamilyTraits{.model_type = "t5", .position = t5_relative, .rms_norm = true},
    FamilyTraits{.model_type = "xlm-roberta", .encoder_only = true},
};

constexpr std::array k_aliases = {
    ConfigAlias{"hidden_size", "hidden_size n_embd n_embed d_model model_dim dim"},
    ConfigAlias{"num_layers", "num_hidden_layers n_layer num_layers n_layers"},
    ConfigAlias{"num_heads", "num_attention_heads n_head num_heads n_heads attn_config.n_heads"},
    ConfigAlias{"num_kv_heads",
                "num_key_value_heads num_kv_heads n_head_kv attn_config.kv_n_heads n_kv_heads "
                "multi_query_group_num"},
    ConfigAlias{"head_dim", "head_dim d_kv kv_channels attention_head_dim"},
    ConfigAlias{"intermediate_size",
                "intermediate_size n_inner d_ff ffn_dim ffn_hidden_size ffn_config.ffn_hidden_size "
                "block_ff_dim"},
    ConfigAlias{"vocab_size", "vocab_size padded_vocab_size n_vocab"},
    ConfigAlias{
        "max_position_embeddings",
        "max_position_embeddings n_positions max_seq_len max_sequence_length seq_length n_ctx"},
    ConfigAlias{"tie_word_embeddings", "tie_word_embeddings tie_embeddings tie_embedding"},
    ConfigAlias{"rope_theta",
                "rope_theta rope_parameters.rope_theta rotary_emb_base rope_embedding_base "
                "attn_config.rope_theta"},
    ConfigAlias{"norm_eps",
                "rms_norm_eps layer_norm_eps layer_norm_epsilon norm_eps layernorm_epsilon"},
    ConfigAlias{"sliding_window", "sliding_window"},
    ConfigAlias{"sliding_window_pattern", "sliding_window_pattern _sliding_window_pattern"},
    ConfigAlias{"num_experts",
                "num_local_experts num_experts n_routed_experts moe_num_experts "
                "ffn_config.moe_num_experts"},
    ConfigAlias{"top_k",
                "num_experts_per_tok moe_top_k num_experts_per_token experts_per_token "
                "ffn_config.moe_top_k"},
    ConfigAlias{"moe_intermediate_size", "moe_intermediate_size expert_intermediate_size"},
    ConfigAlias{"shared_expert_intermediate_size",
                "shared_expert_intermediate_size moe_shared_expert_intermediate_size"},
    ConfigAlias{"num_shared_experts", "n_shared_experts num_shared_experts"},
    ConfigAlias{"first_k_dense_replace", "first_k_dense_replace"},
    ConfigAlias{"moe_layer_freq", "moe_layer_freq"},
    ConfigAlias{"decoder_sparse_step", "decoder_sparse_step"},
    ConfigAlias{"interleave_moe_layer_step", "interleave_moe_layer_step"},
    ConfigAlias{"full_attention_interval", "full_attention_interval"},
    ConfigAlias{"kv_lora_rank", "kv_lora_rank"},
    ConfigAlias{"q_lora_rank", "q_lora_rank"},
    ConfigAlias{"qk_rope_head_dim", "qk_rope_head_dim"},
    ConfigAlias{"qk_nope_head_dim", "qk_nope_head_dim"},
    ConfigAlias{"v_head_dim", "v_head_dim"},
    ConfigAlias{"num_mtp_layers", "num_nextn_predict_layers mtp_num_hidden_layers num_mtp_layers"},
    ConfigAlias{"linear_num_key_heads", "linear_num_key_heads linear_attn_config.num_heads"},
    ConfigAlias{"linear_num_value_heads", "linear_num_value_heads linear_attn_config.num_heads"},
    ConfigAlias{"linear_key_head_dim", "linear_key_head_dim linear_attn_config.head_dim"},
    ConfigAlias{"linear_value_head_dim", "linear_value_head_dim linear_attn_config.head_dim"},
    ConfigAlias{"linear_conv_kernel_dim",
                "linear_conv_kernel_dim linear_attn_config.short_conv_kernel_size"},
    ConfigAlias{"state_size", "state_size d_state ssm_state_size mamba_d_state"},
    ConfigAlias{"conv_kernel", "conv_kernel d_conv mamba_d_conv"},
    ConfigAlias{"expand", "expand mamba_expand"},
    ConfigAlias{"ssm_inner_size", "d_inner mamba_d_inner mamba_d_ssm"},
    ConfigAlias{"time_step_rank", "time_step_rank mamba_dt_rank dt_rank"},
    ConfigAlias{"ssm_num_heads", "mamba_n_heads ssm_num_heads mamba_num_heads"},
    ConfigAlias{"ssm_n_groups", "n_groups mamba_n_groups"},
    ConfigAlias{"ssm_head_dim", "mamba_d_head ssm_head_dim mamba_head_dim"},
    ConfigAlias{"attn_layer_period", "attn_layer_period"},
    ConfigAlias{"attn_layer_offset", "attn_layer_offset"},
    ConfigAlias{"expert_layer_period", "expert_layer_period"},
    ConfigAlias{"expert_layer_offset", "expert_layer_offset"},
    ConfigAlias{"num_decoder_layers", "num_decoder_layers"},
    ConfigAlias{"attention_chunk_size", "attention_chunk_size"},
};

// Values the transformers config classes supply when config.json leaves a field out.
struct FamilyDefault {
  std::string_view model_type;
  std::string_view canonical;
  double value;
};

constexpr std::array k_family_defaults = {
    // Gemma3TextConfig
    FamilyDefault{"gemma3_text", "vocab_size", 262208},
    FamilyDefault{"gemma3_text", "hidden_size", 2304},
    FamilyDefault{"gemma3_text", "intermediate_size", 9216},
    FamilyDefault{"gemma3_text", "num_layers", 26},
    FamilyDefault{"gemma3_text", "num_heads", 8},
    FamilyDefault{"gemma3_text", "num_kv_heads", 4},
    FamilyDefault{"gemma3_text", "head_dim", 256},
    FamilyDefault{"gemma3_text", "max_position_embeddings", 131072},
    FamilyDefault{"gemma3_text", "norm_eps", 1e-6},
    FamilyDefault{"gemma3_text", "rope_theta", 1e6},
    FamilyDefault{"gemma3_text", "sliding_window", 4096},
    FamilyDefault{"gemma3_text", "sliding_window_pattern", 6},
    FamilyDefault{"gemma3_text", "tie_word_embeddings", 1},
    FamilyDefault{"gemma2", "tie_word_embeddings", 1},
    // Gemma3nTextConfig (E4B): the layer_types default puts a full layer every fifth.
    FamilyDefault{"gemma3n_text", "sliding_window", 512},
    FamilyDefault{"gemma3n_text", "sliding_window_pattern", 5},
    FamilyDefault{"gemma3n_text", "tie_word_embeddings", 1},
    FamilyDefault{"gemma", "tie_word_embeddings", 1},
    FamilyDefault{"gpt2", "tie_word_embeddings", 1},
    FamilyDefault{"gpt2", "norm_eps", 1e-5},
    FamilyDefault{"bloom", "tie_word_embeddings", 1},
    FamilyDefault{"bert", "tie_word_embeddings", 1},
    FamilyDefault{"roberta", "tie_word_embeddings", 1},
    FamilyDefault{"t5", "tie_word_embeddings", 1},
    FamilyDefault{"mamba", "tie_word_embeddings", 1},
    FamilyDefault{"mamba2", "tie_word_embeddings", 0},
    FamilyDefault{"falcon", "tie_word_embeddings", 1},
    FamilyDefault{"starcoder2", "tie_word_embeddings", 1},
    FamilyDefault{"llama", "tie_word_embeddings", 0},
    FamilyDefault{"mistral", "tie_word_embeddings", 0},
    FamilyDefault{"mixtral", "tie_word_embeddings", 0},
    FamilyDefault{"qwen2", "tie_word_embeddings", 0},
    FamilyDefault{"qwen2_moe", "tie_word_embeddings", 0},
    FamilyDefault{"qwen3", "tie_word_embeddings", 0},
    FamilyDefault{"qwen3_moe", "tie_word_embeddings", 0},
    FamilyDefault{"qwen3_next", "tie_word_embeddings", 0},
    FamilyDefault{"deepseek_v2", "tie_word_embeddings", 0},
    FamilyDefault{"deepseek_v3", "tie_word_embeddings", 0},
    FamilyDefault{"kimi_k2", "tie_word_embeddings", 0},
    FamilyDefault{"kimi_linear", "tie_word_embeddings", 0},
    FamilyDefault{"deepseek_v32", "tie_word_embeddings", 0},
    FamilyDefault{"glm_moe_dsa", "tie_word_embeddings", 0},
    FamilyDefault{"phi3", "tie_word_embeddings", 0},
    FamilyDefault{"gpt_oss", "tie_word_embeddings", 0},
    FamilyDefault{"jamba", "tie_word_embeddings", 0},
    FamilyDefault{"jamba", "attn_layer_period", 8},
    FamilyDefault{"jamba", "attn_layer_offset", 4},
    FamilyDefault{"jamba", "expert_layer_period", 2},
    FamilyDefault{"jamba", "expert_layer_offset", 1},
    FamilyDefault{"olmo2", "tie_word_embeddings", 0},
    FamilyDefault{"minimax_m2", "tie_word_embeddings", 0},
    // FalconH1Config
    FamilyDefault{"falcon_h1", "tie_word_embeddings", 0},
    FamilyDefault{"falcon_h1", "ssm_inner_size", 1024},
    FamilyDefault{"falcon_h1", "ssm_num_heads", 128},
    FamilyDefault{"falcon_h1", "ssm_n_groups", 1},
    FamilyDefault{"falcon_h1", "state_size", 256},
    FamilyDefault{"falcon_h1", "conv_kernel", 4},
    // Lfm2Config
    FamilyDefault{"lfm2", "tie_word_embeddings", 1},
    FamilyDefault{"lfm2", "conv_L_cache", 3},
    // GraniteMoeHybridConfig
    FamilyDefault{"granitemoehybrid", "tie_word_embeddings", 0},
    FamilyDefault{"granitemoehybrid", "shared_intermediate_size", 1024},
    FamilyDefault{"granitemoehybrid", "ssm_num_heads", 128},
    FamilyDefault{"granitemoehybrid", "ssm_n_groups", 1},
    FamilyDefault{"granitemoehybrid", "state_size", 256},
    FamilyDefault{"granitemoehybrid", "conv_kernel", 4},
    FamilyDefault{"granitemoehybrid", "expand", 2},
    // SiglipVisionConfig
    FamilyDefault{"siglip_vision_model", "hidden_size", 768},
    FamilyDefault{"siglip_vision_model", "intermediate_size", 3072},
    FamilyDefault{"siglip_vision_model", "num_layers", 12},
    FamilyDefault{"siglip_vision_model", "num_heads", 12},
};

}  // namespace

const FamilyTraits& family_traits(std::string_view model_type) {
  static const FamilyTraits k_unknown;
  for (const FamilyTraits& f : k_families) {
    if (f.model_type == model_type) {
      return f;
    }
  }
  return k_unknown;
}

std::span<const FamilyTraits> known_families() {
  return k_families;
}

std::span<const ConfigAlias> config_aliases() {
  return k_aliases;
}

const ConfigAlias* find_config_alias(std::string_view canonical) {
  for (const ConfigAlias& a : k_aliases) {
    if (a.canonical == canonical) {
      return &a;
    }
  }
  return nullptr;
}

std::optional<double> family_default(std::string_view model_type, std::string_view canonical) {
  for (const FamilyDefault& d : k_family_defaults) {
    if (d.model_type == model_type && d.canonical == canonical) {
      return d.value;
    }
  }
  return std::nullopt;
}

}  // namespace mbuild
