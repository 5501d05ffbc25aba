#include "mbuild/report/layer_checks.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mbuild {
namespace {

// The config value a reading compares with, by the field it names.
std::optional<uint64_t> config_value(const ModelConfig& c, std::string_view field) {
  if (field == "num_attention_heads") {
    return c.num_heads;
  }
  if (field == "num_key_value_heads") {
    return c.num_kv_heads;
  }
  if (field == "head_dim") {
    return c.head_dim;
  }
  if (field == "vocab_size") {
    return c.vocab_size;
  }
  if (field == "intermediate_size") {
    return c.intermediate_size;
  }
  if (field == "num_experts") {
    return c.num_experts;
  }
  if (field == "moe_intermediate_size") {
    return c.moe_intermediate_size ? c.moe_intermediate_size : c.intermediate_size;
  }
  if (field == "n_shared_experts") {
    return c.count("num_shared_experts");
  }
  return c.count(field);
}

void add(std::vector<Finding>& out, std::string where, std::string text) {
  const bool seen =
      std::any_of(out.begin(), out.end(), [&](const Finding& f) { return f.text == text; });
  if (!seen) {
    out.push_back({Severity::warning, std::move(where), std::move(text)});
  }
}

}  // namespace

std::vector<Finding> layer_findings(const LayerMap& map, const ModelConfig* config) {
  std::vector<Finding> out;
  for (const ShapeReading& r : map.readings) {
    if (!r.text.empty()) {
      add(out, r.where, r.text);
      continue;
    }
    if (!r.shapes) {
      continue;
    }
    const std::optional<uint64_t> expected = r.expected ? r.expected
                                             : config   ? config_value(*config, r.field)
                                                        : std::nullopt;
    if (expected && *r.shapes != *expected) {
      add(out, r.where,
          fmt::format("{}: the shapes say {}, config.json {} says {}", r.what, *r.shapes, r.field,
                      *expected));
    }
  }
  return out;
}

}  // namespace mbuild
