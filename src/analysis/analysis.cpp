#include "mbuild/analysis/analysis.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "mbuild/model/fingerprint.hpp"

#include "analysis/layer_model.hpp"
#include "analysis/layer_pattern.hpp"

namespace mbuild {
namespace {

// Up to three names, then "…".
std::string sample_names(const std::vector<std::string>& names) {
  std::vector<std::string> shown(
      names.begin(), names.begin() + static_cast<long>(std::min<size_t>(3, names.size())));
  return fmt::format("{}{}", fmt::join(shown, ", "), names.size() > 3 ? ", …" : "");
}

// Names the causes of a header-vs-analytic difference: stored buffers, tensors outside the
// architecture's modules; whatever is left is said to be unexplained.
std::vector<std::string> difference_causes(const Model& model, const ParamCount& params,
                                           int64_t difference) {
  std::vector<std::string> out;
  int64_t left = difference;
  if (params.buffers > 0 && left >= static_cast<int64_t>(params.buffers)) {
    out.push_back(
        fmt::format("checkpoint stores {} non-parameter buffer elements "
                    "(attention-mask / rotary buffers: {})",
                    params.buffers, sample_names(params.buffer_names)));
    left -= static_cast<int64_t>(params.buffers);
  }
  const uint64_t other = params.by_component[static_cast<size_t>(Component::other)];
  if (left > 0 && static_cast<uint64_t>(left) == other) {
    std::vector<std::string> names;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
      if (params.classes[i].component == Component::other && params.classes[i].params > 0) {
        names.emplace_back(model.tensors[i].name);
      }
    }
    out.push_back(
        fmt::format("checkpoint stores {} params in modules outside the config's "
                    "architecture ({})",
                    other, sample_names(names)));
    left = 0;
  }
  if (left != 0) {
    out.push_back(fmt::format("{} params unexplained", left));
  }
  return out;
}

}  // namespace

Analysis analyze(const Model& model, const AnalysisOptions& options) {
  Analysis a;
  a.params = count_params(model);
  a.findings = model.findings;
  a.findings.insert(a.findings.end(), a.params.findings.begin(), a.params.findings.end());
  a.from_headers = !model.tensors.empty();
  a.total = a.params.total;

  if (!model.config) {
    a.analytic.unavailable = "no config.json";
    a.kv_unavailable = "no config.json";
  } else {
    const ModelConfig& config = *model.config;
    a.fingerprint = fingerprint(config);
    if (auto count = analytic_count(config)) {
      a.analytic.count = std::move(*count);
      if (a.from_headers) {
        a.analytic.difference =
            static_cast<int64_t>(a.params.total) - static_cast<int64_t>(a.analytic.count->total);
        if (a.analytic.difference != 0) {
          a.analytic.explanation = difference_causes(model, a.params, a.analytic.difference);
        }
      } else {
        a.total = a.analytic.count->total;
        if (a.analytic.count->active) {  // config only: the active figures are the formula's
          a.params.active = a.analytic.count->active;
          a.params.active_excluding_embedding = a.analytic.count->active_excluding_embedding;
          for (const auto& [part, n] : a.analytic.count->parts) {
            a.params.routed_expert_params += part == "moe_experts" ? n : 0;
          }
        }
      }
    } else {
      a.analytic.unavailable = count.error().why;
    }
    // The layer model: the tensors' kinds (read by the map's first steps) over config.json's.
    std::optional<LayerMap> read;
    if (options.map_layers) {
      a.map = map_layers(model, a.params, options.catalog ? *options.catalog : builtin_catalog());
    } else if (a.from_headers) {
      read = read_layers(model, a.params);
    }
    const LayerMap* map = a.map ? &*a.map : read ? &*read : nullptr;
    LayerModel layers = build_layer_model(&config, map);
    a.findings.insert(a.findings.end(), layers.disagreements.begin(), layers.disagreements.end());
    a.layers.count = config.num_layers.value_or(0);
    a.layers.kinds = layer_labels(layers.mixers, layers.ffns, config.layer_nope, layers.indexer);
    a.layers.pattern = compress_layer_pattern(a.layers.kinds);
    a.layers.tally = tally_layer_kinds(a.layers.kinds);
    a.layers.mixers = std::move(layers.mixers);
    a.layers.ffns = std::move(layers.ffns);
    a.layers.indexer = std::move(layers.indexer);
    a.layers.from_tensors = layers.from_tensors;
    a.layers.disagreements = std::move(layers.disagreements);

    // MTP layers as the formula counts them (the checkpoints' convention); a checkpoint that
    // holds no MTP tensor has none to run.
    a.layers.mtp = a.analytic.count ? a.analytic.count->mtp_layers
                                    : config.count("num_mtp_layers").value_or(0);
    if (a.from_headers && a.params.by_component[static_cast<size_t>(Component::mtp)] == 0) {
      a.layers.mtp = 0;
    }
    if (auto kv = kv_cache(config, a.layers.mixers,
                           {.context = options.context,
                            .batch = options.batch,
                            .dtype_bytes = options.kv_dtype_bytes,
                            .mtp_layers = options.kv_mtp ? a.layers.mtp : 0,
                            .indexer = &a.layers.indexer})) {
      a.kv = std::move(*kv);
    } else {
      a.kv_unavailable = kv.error().why;
    }
    if (options.explain) {
      a.explanation =
          explain_architecture(model, a.params, a.total, a.layers.mixers, a.layers.ffns);
    }
  }
  a.formats = weight_formats(a.total);
  if (options.map_layers && !a.map) {
    a.map = map_layers(model, a.params, options.catalog ? *options.catalog : builtin_catalog());
  }
  return a;
}

}  // namespace mbuild
