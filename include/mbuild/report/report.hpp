// The inspect report: plain data computed once from a model, rendered by render.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mbuild/analysis/analytic.hpp"
#include "mbuild/analysis/memory.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

inline constexpr int k_inspect_schema_version = 1;

struct InspectOptions {
  uint64_t context = 0;  // 0: max_position_embeddings
  uint64_t batch = 1;
};

struct AnalyticComparison {
  std::optional<AnalyticCount> count;
  std::string unavailable;               // why there is no analytic count
  int64_t difference = 0;                // header total - analytic total
  std::vector<std::string> explanation;  // named causes of a difference
};

struct LayerSummary {
  uint64_t count = 0;
  std::string pattern;
  std::vector<std::string> kinds;  // per layer
};

struct InspectReport {
  ParamCount params;
  AnalyticComparison analytic;
  std::vector<FormatSize> formats;
  std::optional<KvCache> kv;
  std::string kv_unavailable;
  LayerSummary layers;
  std::vector<Finding> warnings;
};

InspectReport build_inspect_report(const Model& model, const InspectOptions& options);

}  // namespace mbuild
