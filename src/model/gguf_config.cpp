// GGUF metadata -> the config.json fields the rest of mbuild reads. Keys from llama.cpp's
// gguf-py/gguf/constants.py (class Keys.LLM / Keys.Attention / Keys.Rope) and llama-arch.cpp.
#include <fmt/format.h>

#include "mbuild/model/model_config.hpp"
#include "mbuild/snapshot/gguf.hpp"

namespace mbuild {
namespace {

// `<arch>.<suffix>` -> config.json field. Integers stay integers, floats stay floats.
struct GgufKeyMap {
  std::string_view suffix;
  std::string_view field;
};

constexpr GgufKeyMap k_key_map[] = {
    {"block_count", "num_hidden_layers"},
    {"embedding_length", "hidden_size"},
    {"feed_forward_length", "intermediate_size"},
    {"context_length", "max_position_embeddings"},
    {"vocab_size", "vocab_size"},
    {"attention.head_count", "num_attention_heads"},
    {"attention.head_count_kv", "num_key_value_heads"},
    {"attention.key_length", "head_dim"},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps"},
    {"attention.layer_norm_epsilon", "layer_norm_eps"},
    {"attention.sliding_window", "sliding_window"},
    {"attention.kv_lora_rank", "kv_lora_rank"},
    {"attention.q_lora_rank", "q_lora_rank"},
    {"rope.freq_base", "rope_theta"},
    {"expert_count", "num_experts"},
    {"expert_used_count", "num_experts_per_tok"},
    {"expert_feed_forward_length", "moe_intermediate_size"},
    {"expert_shared_count", "n_shared_experts"},
    {"expert_shared_feed_forward_length", "shared_expert_intermediate_size"},
    {"leading_dense_block_count", "first_k_dense_replace"},
    {"nextn_predict_layers", "num_nextn_predict_layers"},
};

// general.architecture -> transformers model_type, where the two differ (an unknown
// architecture keeps its own name).
struct ArchMap {
  std::string_view gguf;
  std::string_view model_type;
};

constexpr ArchMap k_arch_map[] = {
    {"qwen3moe", "qwen3_moe"},    {"qwen2moe", "qwen2_moe"}, {"gemma3", "gemma3_text"},
    {"deepseek2", "deepseek_v3"}, {"gpt-oss", "gpt_oss"},    {"command-r", "cohere"},
    {"glm4moe", "glm4_moe"},      {"phimoe", "phimoe"},
};

}  // namespace

Result<ModelConfig> model_config_from_gguf(std::string_view file, const GgufHeader& header,
                                           bool has_output) {
  const std::optional<std::string> arch = header.get_string("general.architecture");
  if (!arch || arch->empty()) {
    return bad_input(std::string(file), "GGUF metadata has no general.architecture");
  }
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  std::string model_type = *arch;
  for (const ArchMap& m : k_arch_map) {
    if (m.gguf == *arch) {
      model_type = m.model_type;
    }
  }
  config["model_type"] = model_type;
  config["tie_word_embeddings"] = !has_output;
  for (const GgufKeyMap& m : k_key_map) {
    const std::string key = fmt::format("{}.{}", *arch, m.suffix);
    const GgufValue* v = header.find(key);
    if (!v) {
      continue;
    }
    if (const uint64_t* u = std::get_if<uint64_t>(&v->scalar)) {
      config[std::string(m.field)] = *u;
    } else if (const int64_t* i = std::get_if<int64_t>(&v->scalar)) {
      config[std::string(m.field)] = *i;
    } else if (const double* d = std::get_if<double>(&v->scalar)) {
      config[std::string(m.field)] = *d;
    }
    // Per-layer arrays (OpenELM's head counts) are left out: the tensors still count.
  }
  // The vocabulary is the tokenizer's token list when <arch>.vocab_size is absent.
  if (!config.contains("vocab_size")) {
    if (const GgufValue* tokens = header.find("tokenizer.ggml.tokens");
        tokens && tokens->type == GgufValueType::array) {
      config["vocab_size"] = tokens->array_length;
    }
  }
  return parse_model_config(file, config.dump());
}

}  // namespace mbuild
