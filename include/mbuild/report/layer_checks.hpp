// Validation of the layer map against config.json, done once: what each unit's shapes say
// about a config field (the map's readings) compared with the field. (The per-layer kinds are
// compared where the layer model is built: analysis/layer_model.)
#pragma once

#include <vector>

#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/model/model_config.hpp"
#include "mbuild/util/finding.hpp"

namespace mbuild {

// One warning per distinct disagreement (a disagreement repeats on every layer), in the order
// the units were read. `config` may be null (no config.json): then only
// the readings that carry their own expected value, and those naming unknown tensors, remain.
std::vector<Finding> layer_findings(const LayerMap& map, const ModelConfig* config);

}  // namespace mbuild
