// The inspect report: plain data computed once from a model, rendered by render.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/analytic.hpp"
#include "core/memory.hpp"
#include "core/model.hpp"
#include "core/param_count.hpp"

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

// Renderers: they format, never compute.
std::string render_inspect_text(const Model& model, const InspectReport& report);
std::string render_inspect_json(const Model& model, const InspectReport& report);
std::string render_tensors_csv(const Model& model, const InspectReport& report);

// The "memory" object of the JSON reports: weights as stored, per format, and the KV cache
// (its numbers null, with the reason, when unavailable).
nlohmann::ordered_json memory_json(uint64_t stored_bytes, const std::vector<FormatSize>& formats,
                                   const std::optional<KvCache>& kv_cache,
                                   const std::string& kv_unavailable);

// "70.55B", "124.44M", "6.7K": two decimals, the way model cards round.
std::string format_count(uint64_t n);
// "70,553,706,496": thousands separated by commas.
std::string format_grouped(uint64_t n);
// "131.41 GiB"
std::string format_bytes(uint64_t n);

}  // namespace mbuild
