// Per-layer kinds compressed into a readable pattern with period detection.
#pragma once

#include "mbuild/model/layer_kind.hpp"

#include <string>
#include <vector>

namespace mbuild {

// "(linear_attention ×3, full_attention) ×12", "dense ×3, moe ×58", "full_attention ×80".
// Greedy from the left: at each position the block (period up to 64) whose repetitions
// cover the most layers wins; ties go to the shorter block.
std::string compress_layer_pattern(const std::vector<std::string>& kinds);

// The per-layer kinds to show: attention kinds when only they vary, MLP kinds when only they
// vary, "mixer+mlp" pairs when both do (a layer without one of the two shows the other).
std::vector<std::string> layer_kinds(const std::vector<std::string>& attention,
                                     const std::vector<std::string>& mlp);
// The per-layer kinds to show from the layer model: kind names, NoPE attention marked
// ("full_attention (NoPE)", `nope` per layer, may be shorter or empty), sparse attention
// without an indexer of its own marked ("deepseek_sparse_attention (shared index)", `indexer`
// per layer, empty: every one has its own), then layer_kinds.
std::vector<std::string> layer_labels(const std::vector<MixerKind>& mixers,
                                      const std::vector<FfnKind>& ffns,
                                      const std::vector<bool>& nope,
                                      const std::vector<bool>& indexer = {});

// How many layers of each kind, in order of first appearance: "23 mamba, 23 moe,
// 6 full_attention"; empty when every layer is alike.
std::string tally_layer_kinds(const std::vector<std::string>& kinds);

}  // namespace mbuild
