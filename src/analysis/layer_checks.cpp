// The layer mapper's config-vs-shape checks, in one place: each reading (what a unit's shapes
// say about a config field) against config.json, in the order the units were read.
#include <fmt/format.h>

#include "analysis/layer_steps.hpp"

namespace mbuild {
namespace {

// The config value a reading compares with, by the field it names.
std::optional<uint64_t> config_value(const MapContext& ctx, std::string_view field) {
  const ModelConfig& c = *ctx.cfg;
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
    return ctx.cfg_count("num_shared_experts");
  }
  return ctx.cfg_count(field);
}

}  // namespace

void check_readings(const MapContext& ctx, LayerMap& out) {
  for (const ShapeReading& r : ctx.readings) {
    const LayerUnit& u = out.units[r.unit];
    if (!r.text.empty()) {
      add_finding(out, unit_where(u), r.text);
      continue;
    }
    if (!r.shapes) {
      continue;
    }
    const std::optional<uint64_t> config = r.expected ? r.expected
                                           : ctx.cfg  ? config_value(ctx, r.field)
                                                      : std::nullopt;
    if (config && *r.shapes != *config) {
      add_finding(out, unit_where(u),
                  fmt::format("{}: the shapes say {}, config.json {} says {}", r.what, *r.shapes,
                              r.field, *config));
    }
  }
}

}  // namespace mbuild
