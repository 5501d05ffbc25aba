#include "mbuild/model/layer_kind.hpp"

#include <array>
#include <utility>

namespace mbuild {
namespace {

// transformers' layer_types names where it has them (DeepseekV32Config / GlmMoeDsaConfig:
// every layer "deepseek_sparse_attention"); in MixerKind's order.
constexpr std::array<std::string_view, 11> k_mixer_names = {"full_attention",
                                                            "sliding_attention",
                                                            "chunked_attention",
                                                            "deepseek_sparse_attention",
                                                            "linear_attention",
                                                            "mamba",
                                                            "rwkv",
                                                            "attention ∥ mamba",
                                                            "short_conv",
                                                            "none",
                                                            "unknown"};
constexpr std::array<std::string_view, 4> k_ffn_names = {"dense", "moe", "none", "unknown"};

constexpr std::array<std::pair<std::string_view, MixerKind>, 11> k_mixer_synonyms = {{
    {"attention", MixerKind::full_attention},
    {"global", MixerKind::full_attention},
    {"full", MixerKind::full_attention},
    {"sliding_window", MixerKind::sliding_attention},
    {"local", MixerKind::sliding_attention},
    {"sliding", MixerKind::sliding_attention},
    {"chunked", MixerKind::chunked_attention},
    {"mamba2", MixerKind::mamba},  // Granite 4.0 layer_types
    {"linear", MixerKind::linear_attention},
    {"conv", MixerKind::short_conv},         // LFM2 layer_types
    {"hybrid", MixerKind::attention_mamba},  // Falcon-H1 layers_block_type
}};

}  // namespace

std::string_view kind_name(MixerKind kind) {
  return k_mixer_names[static_cast<size_t>(kind)];
}

std::string_view kind_name(FfnKind kind) {
  return k_ffn_names[static_cast<size_t>(kind)];
}

MixerKind mixer_kind_of(std::string_view name) {
  for (size_t i = 0; i + 1 < k_mixer_names.size(); ++i) {
    if (k_mixer_names[i] == name) {
      return static_cast<MixerKind>(i);
    }
  }
  for (const auto& [synonym, kind] : k_mixer_synonyms) {
    if (synonym == name) {
      return kind;
    }
  }
  return MixerKind::unknown;
}

FfnKind ffn_kind_of(std::string_view name) {
  if (name == "sparse") {
    return FfnKind::moe;
  }
  for (size_t i = 0; i + 1 < k_ffn_names.size(); ++i) {
    if (k_ffn_names[i] == name) {
      return static_cast<FfnKind>(i);
    }
  }
  return FfnKind::unknown;
}

}  // namespace mbuild
