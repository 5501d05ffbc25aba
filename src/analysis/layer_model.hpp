// The one per-layer model of a decoder: each layer's token mixer and feed-forward, read off
// the tensors where they show them, config.json where they do not (or when there are no
// tensors). The layer pattern, the KV cache and the explanation all read it.
#pragma once

#include <vector>

#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/model/model_config.hpp"
#include "mbuild/util/finding.hpp"

namespace mbuild {

struct LayerModel {
  std::vector<MixerKind> mixers;  // per decoder layer
  std::vector<FfnKind> ffns;
  // Per layer: a sparse-attention layer that keeps an indexer (and its key cache) of its own;
  // false for one that reuses another layer's selection (GLM-5's "shared" layers).
  std::vector<bool> indexer;
  bool from_tensors = false;           // some layer's kinds came from the tensors
  std::vector<Finding> disagreements;  // config.json against the tensors, one per layer and kind
};

// Merges what the tensors show (`map`, may be null) with what `config` says (may be null).
// Softmax attention the tensors show keeps the config's kind (full, sliding or chunked: the
// window is not in the shapes). Any other disagreement is a finding naming the layer, and the
// tensors win: they are what runs.
LayerModel build_layer_model(const ModelConfig* config, const LayerMap* map);

}  // namespace mbuild
