// Parameter count from config.json alone: what a repo without safetensors gets, and a
// cross-check for one with them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mbuild/model/model_config.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild {

struct AnalyticCount {
  uint64_t total = 0;
  // Named parts that sum to total, e.g. {"embedding", n}, {"layers", n}, {"lm_head", n}.
  std::vector<std::pair<std::string, uint64_t>> parts;
  std::vector<std::string> assumptions;  // defaults or conventions the formula relied on
  // MoE: params per token (top_k of each layer's routed experts, MTP modules left out), with
  // the input embedding and without it (a tied embedding stays in: the output head uses it).
  std::optional<uint64_t> active, active_excluding_embedding;
  uint64_t mtp_layers = 0;  // multi-token-prediction layers counted (as the checkpoint ships them)
};

// The count the config implies for its family; fails (bad_input) when a needed field is
// missing, or (not_found) when the family has no formula.
Result<AnalyticCount> analytic_count(const ModelConfig& config);

}  // namespace mbuild
