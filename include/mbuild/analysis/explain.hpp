// What a model's architecture is, in facts a reader can check: attention and its KV saving,
// feed-forward kind, norm, positional encoding, compute-optimal scaling, weight sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mbuild/analysis/memory.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

inline constexpr uint64_t k_explain_context = 4096;  // the context the KV comparison uses

struct AttentionFacts {
  std::string kind;  // "MHA", "GQA", "MQA", "MLA", "none", "bidirectional MHA"
  uint64_t heads = 0, kv_heads = 0, head_dim = 0;
  uint64_t full_layers = 0, sliding_layers = 0, mla_layers = 0, state_layers = 0;
  std::optional<uint64_t> sliding_window;
  std::string state_kind;  // "gated delta-net", "Mamba", "RWKV" for recurrent layers
  // KV cache of one sequence at k_explain_context tokens, and with every head kept (MHA).
  std::optional<uint64_t> kv_bytes, mha_bytes;
  uint64_t state_bytes = 0;  // recurrent state per sequence
  double saving = 0;         // 1 - kv / mha
};

struct FfnFacts {
  std::string kind;        // "SwiGLU", "GeGLU", "GELU MLP", "ReLU MLP", "MLP", "none"
  std::string activation;  // as config.json names it
  bool gated = false;
  uint64_t intermediate = 0, hidden = 0;
  double expansion = 0;  // intermediate / hidden
  // MoE
  uint64_t experts = 0, top_k = 0, expert_intermediate = 0, shared_experts = 0;
  uint64_t moe_layers = 0, dense_layers = 0;
};

struct NormFacts {
  std::string kind;  // "RMSNorm", "LayerNorm"
  std::optional<double> eps;
  std::string evidence;  // the tensor or config field that shows it
};

struct PositionFacts {
  std::string kind;  // "RoPE", "learned absolute", "ALiBi", "relative (T5 buckets)", "none"
  std::optional<double> rope_theta;
  bool theta_assumed = false;        // the default 10000: config.json names no base
  std::optional<double> wavelength;  // 2·π·θ tokens: the longest RoPE wavelength
  std::string scaling;               // rope_scaling type and factor, "" when none
  std::optional<double> scaling_factor;
  std::optional<uint64_t> max_positions;
  std::string evidence;  // the tensor, config field or family trait that shows it
};

struct ScalingFacts {
  uint64_t params = 0;
  std::optional<uint64_t> active;  // MoE params per token
  double chinchilla_tokens = 0;    // 20·N (Hoffmann et al., 2022)
  double training_flops = 0;       // 6·N·D with D = 20·N
};

struct ArchitectureExplanation {
  AttentionFacts attention;
  FfnFacts ffn;
  NormFacts norm;
  PositionFacts position;
  ScalingFacts scaling;
  std::vector<FormatSize> formats;
};

// The norm: LayerNorm when a norm tensor carries a bias (or beta), RMSNorm when norm tensors
// carry none; without norm tensors, the epsilon field config.json names (RMSNorm by default).
NormFacts norm_facts(const Model& model, const ModelConfig& c, const ParamCount& params);

// Where positions come from: none for recurrent-only stacks and families whose attention takes
// no positions, ALiBi, T5's relative buckets, a learned table (a position embedding tensor),
// else RoPE.
// `mixers`: the per-layer kinds (the layer model's); empty: config.json's.
PositionFacts position_facts(const Model& model, const ModelConfig& c,
                             std::span<const MixerKind> mixers = {});

// The facts for a model with a config (tensors refine them when present: gated projections,
// norm biases, learned position tables). `params` is count_params(model); `total` the model's
// count (the headers', or the analytic one without headers), which the scaling facts use.
// `mixers` and `ffns` are the per-layer kinds (the layer model's); empty: config.json's.
ArchitectureExplanation explain_architecture(const Model& model, const ParamCount& params,
                                             uint64_t total, std::span<const MixerKind> mixers = {},
                                             std::span<const FfnKind> ffns = {});

}  // namespace mbuild
