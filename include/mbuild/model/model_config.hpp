// config.json, normalised across model families through one alias table.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/model/layer_kind.hpp"
#include "mbuild/snapshot/snapshot.hpp"
#include "mbuild/util/error.hpp"
#include "mbuild/util/json_guard.hpp"

namespace mbuild {

struct GgufHeader;  // mbuild/snapshot/gguf.hpp

// How a checkpoint's weights are quantized, as config.json declares it.
struct QuantConfig {
  std::string method;  // "gptq", "awq", "compressed-tensors", "bitsandbytes", "fp8",
                       // "mxfp4", "mlx", ... ; empty when unquantized
  unsigned bits = 0;   // weight bits when one number applies (0 = unknown)
  uint64_t group_size = 0;
  std::string detail;        // bnb quant type (nf4/fp4), compressed-tensors format, ...
  bool fp4_experts = false;  // expert_dtype "fp4": routed experts hold two FP4 values a byte
  nlohmann::json raw;        // the declaring object, for per-module overrides (MLX)
};

struct ModelConfig {
  nlohmann::json raw;   // config.json as published (bare Infinity/NaN kept as strings)
  nlohmann::json text;  // the language model's part: text_config (or llm_config) over the root

  std::string model_type;  // of the language model (text_config's when nested)
  std::string root_model_type;
  std::vector<std::string> architectures;
  std::optional<uint64_t> hidden_size, num_layers, num_heads, num_kv_heads, head_dim,
      intermediate_size, vocab_size, max_position_embeddings;
  std::optional<bool> tie_word_embeddings;
  std::optional<double> rope_theta, norm_eps;
  std::string torch_dtype;  // "bfloat16", ... (torch_dtype or dtype)

  // MoE
  std::optional<uint64_t> num_experts, top_k, moe_intermediate_size, num_shared_experts,
      shared_expert_intermediate_size;

  // Per decoder layer, what the config says it is: its token mixer and its feed-forward.
  std::vector<MixerKind> layer_attention;
  std::vector<FfnKind> layer_mlp;
  // Whether the kinds above are stated (a config.json field lists them, or the family's
  // schedule fixes them) rather than assumed for a family mbuild does not know.
  bool layer_kinds_stated = false, mlp_kinds_stated = false;
  // Layers whose attention uses no positional encoding (NoPE): SmolLM3's and Llama 4's
  // `no_rope_layers` (0 = NoPE) or `no_rope_layer_interval` (every N-th layer). Empty: none.
  std::vector<bool> layer_nope;
  // Sparse-attention layers (DSA) whose lightning indexer is their own: GLM-5.2's
  // `indexer_types` "full" (the "shared" layers reuse the previous full layer's top-k and hold
  // no indexer, no indexer keys). Empty: every sparse-attention layer has its indexer.
  std::vector<bool> layer_indexer;
  std::optional<uint64_t> sliding_window;

  QuantConfig quant;
  std::vector<std::string> defaulted;  // canonical fields filled from family defaults

  // A count resolved through the alias table (text part, then root, then family defaults).
  std::optional<uint64_t> count(std::string_view canonical) const;
  std::optional<double> number(std::string_view canonical) const;
  std::optional<bool> flag(std::string_view canonical) const;
  // The JSON value of a dotted path in the text part, else the root; nullptr when absent.
  const nlohmann::json* find(std::string_view dotted_path) const;
  bool is_moe() const { return num_experts.value_or(0) > 1; }
};

// The inner width of a Mamba mixer: d_inner when named, else mamba_num_heads x mamba_head_dim
// (Nemotron-H), else intermediate_size where the family's config uses it (Mamba-1), else
// expand x hidden_size (expand defaults to 2). 0 when the config names no hidden size.
uint64_t ssm_inner_size(const ModelConfig& config);

// Parses config.json text. Fails (bad_input) when it is not JSON or not an object, or when a
// field the alias table knows has the wrong type.
Result<ModelConfig> parse_model_config(std::string_view file, std::string_view text);

// The config a GGUF file's metadata implies: general.architecture and the <arch>.* keys mapped
// onto config.json's fields (a table in model/gguf_config.cpp), then read like config.json.
// `has_output` says whether the file stores output.weight (else the embeddings are tied).
// Fails (bad_input naming `file`) without general.architecture.
Result<ModelConfig> model_config_from_gguf(std::string_view file, const GgufHeader& header,
                                           bool has_output);

// Replaces bare Infinity / -Infinity / NaN tokens outside strings with strings, so a strict JSON
// parser accepts the configs that Python's json module wrote.
std::string quote_nonfinite_tokens(std::string_view text);

}  // namespace mbuild
