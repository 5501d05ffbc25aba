// How the inspect report is printed: text, JSON and the tensor CSV. Renderers format, never
// compute: every number comes from analyze().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/fit.hpp"
#include "mbuild/analysis/memory.hpp"
#include "mbuild/analysis/variant.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

inline constexpr int k_inspect_schema_version = 1;

// `fits`: the deployment fit per --gpu asked for (a "fit" table / array when not empty).
std::string render_inspect_text(const Model& model, const Analysis& analysis,
                                const std::vector<Fit>& fits = {});
std::string render_inspect_json(const Model& model, const Analysis& analysis,
                                const std::vector<Fit>& fits = {});
std::string render_tensors_csv(const Model& model, const Analysis& analysis);
// inspect --format variant: the flat shape block, one `name: value` line per field, then each
// invariant as `invariant: <name>: holds|BROKEN (<detail>)`.
std::string render_variant(const Model& model, const VariantReport& variant);

// The "memory" object of the JSON reports: weights as stored, per format, and the KV cache
// (its numbers null, with the reason, when unavailable).
nlohmann::ordered_json memory_json(uint64_t stored_bytes, const std::vector<FormatSize>& formats,
                                   const std::optional<KvCache>& kv_cache,
                                   const std::string& kv_unavailable);

}  // namespace mbuild
