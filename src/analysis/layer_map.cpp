#include "mbuild/analysis/layer_map.hpp"

#include <fmt/format.h>

#include "analysis/layer_steps.hpp"

namespace mbuild {

MapContext::MapContext(const Model& m, const ParamCount& p, const Catalog& c)
    : model(m), params(p), catalog(&c) {
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

LayerMap map_layers(const Model& model, const ParamCount& params, const Catalog& catalog) {
  LayerMap out;
  MapContext ctx(model, params, catalog);
  place_units(ctx, out);
  read_shapes(ctx, out);
  cut_parts(ctx, out);
  read_layer_kinds(ctx, out);
  group_parts(out);
  return out;
}

LayerMap read_layers(const Model& model, const ParamCount& params) {
  LayerMap out;
  MapContext ctx(model, params, builtin_catalog());
  place_units(ctx, out);
  read_shapes(ctx, out);
  read_layer_kinds(ctx, out);
  return out;
}

}  // namespace mbuild
