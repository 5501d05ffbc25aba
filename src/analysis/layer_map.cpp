#include "mbuild/analysis/layer_map.hpp"

#include <fmt/format.h>

#include "analysis/layer_steps.hpp"

namespace mbuild {

MapContext::MapContext(const Model& m, const ParamCount& p) : model(m), params(p) {
  if (m.config) {
    cfg = &*m.config;
    num_layers = cfg->num_layers.value_or(0);
    mtp_layers = cfg->count("num_mtp_layers").value_or(0);
  }
}

std::optional<uint64_t> MapContext::cfg_count(std::string_view field) const {
  return cfg ? cfg->count(field) : std::nullopt;
}

std::string unit_where(const LayerUnit& u) {
  std::string where = u.layer ? fmt::format("layer {} {}", *u.layer, u.name) : u.name;
  if (!u.scope.empty()) {
    where = u.scope + " " + where;
  }
  return where;
}

void add_finding(LayerMap& out, std::string where, std::string text) {
  for (const Finding& f : out.findings) {
    if (f.text == text) {
      return;
    }
  }
  out.findings.push_back({Severity::warning, std::move(where), std::move(text)});
}

LayerMap map_layers(const Model& model, const ParamCount& params) {
  LayerMap out;
  MapContext ctx(model, params);
  place_units(ctx, out);
  read_shapes(ctx, out);
  check_readings(ctx, out);
  cut_parts(ctx, out);
  compare_layer_kinds(ctx, out);
  group_parts(out);
  return out;
}

}  // namespace mbuild
