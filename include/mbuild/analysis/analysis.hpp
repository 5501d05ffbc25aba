// One pass over a model: every figure the commands report (counts, the analytic cross-check,
// weight formats, KV cache, the layer pattern, the explanation, the layer map), computed once.
// Reports, renderers and writers only read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mbuild/analysis/analytic.hpp"
#include "mbuild/analysis/explain.hpp"
#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/memory.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/util/finding.hpp"

namespace mbuild {

struct AnalysisOptions {
  uint64_t context = 0;  // for the KV cache; 0: max_position_embeddings
  uint64_t batch = 1;
  uint64_t kv_dtype_bytes = 0;       // bytes per KV element; 0: the model's dtype
  bool kv_mtp = false;               // add the KV of the MTP layers (speculative decoding)
  bool explain = false;              // the architecture explanation (validate, emit-config)
  bool map_layers = false;           // the tensor -> layer-entry map (emit-config)
  const Catalog* catalog = nullptr;  // the classes the map cuts for; nullptr: built-in
};

// The header count against the count config.json implies.
struct AnalyticComparison {
  std::optional<AnalyticCount> count;
  std::string unavailable;               // why there is no analytic count
  int64_t difference = 0;                // header total - analytic total
  std::vector<std::string> explanation;  // named causes of a difference
};

// The layer model: per decoder layer, its token mixer and feed-forward, read off the tensors
// where they show them (config.json cross-checked, a disagreement a finding naming the
// layer), else config.json's. The pattern, the KV cache and the explanation derive from it.
struct LayerSummary {
  uint64_t count = 0;
  std::string pattern;
  std::vector<std::string> kinds;      // per layer
  std::string tally;                   // "23 mamba, 23 moe, 6 full_attention" when kinds differ
  std::vector<MixerKind> mixers;       // per layer
  std::vector<FfnKind> ffns;           // per layer
  std::vector<bool> indexer;           // per layer: a sparse-attention indexer of its own
  bool from_tensors = false;           // the tensors showed the kinds
  uint64_t mtp = 0;                    // MTP layers after the last one (not in the per-layer lists)
  std::vector<Finding> disagreements;  // config.json against the tensors (also in findings)
};

struct Analysis {
  ParamCount params;
  // The model's parameter count: the headers' total, or the analytic count when there are no
  // headers (and config.json allows one).
  uint64_t total = 0;
  bool from_headers = false;
  AnalyticComparison analytic;
  std::vector<FormatSize> formats;  // `total` in each weight format
  std::optional<KvCache> kv;
  std::string kv_unavailable;
  LayerSummary layers;
  std::optional<ArchitectureExplanation> explanation;  // with options.explain and a config
  std::optional<LayerMap> map;                         // with options.map_layers
  std::vector<Finding> findings;                       // what the reader and the counter noticed
  std::string fingerprint;  // 16 hex digits (model/fingerprint.hpp); empty without config.json
};

Analysis analyze(const Model& model, const AnalysisOptions& options);

}  // namespace mbuild
