// How the inspect report is printed: text, JSON and the tensor CSV. Renderers format, never
// compute: every number comes from build_inspect_report().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/analysis/memory.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/report/report.hpp"

namespace mbuild {

std::string render_inspect_text(const Model& model, const InspectReport& report);
std::string render_inspect_json(const Model& model, const InspectReport& report);
std::string render_tensors_csv(const Model& model, const InspectReport& report);

// The "memory" object of the JSON reports: weights as stored, per format, and the KV cache
// (its numbers null, with the reason, when unavailable).
nlohmann::ordered_json memory_json(uint64_t stored_bytes, const std::vector<FormatSize>& formats,
                                   const std::optional<KvCache>& kv_cache,
                                   const std::string& kv_unavailable);

}  // namespace mbuild
