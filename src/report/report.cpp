#include "mbuild/report/report.hpp"

#include <fmt/format.h>

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
std::vector<std::string> explain(const Model& model, const ParamCount& params, int64_t difference) {
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

InspectReport build_inspect_report(const Model& model, const InspectOptions& options) {
  InspectReport r;
  r.params = count_params(model);
  r.warnings = model.findings;
  r.warnings.insert(r.warnings.end(), r.params.findings.begin(), r.params.findings.end());
  r.formats = weight_formats(r.params.total);

  if (!model.config) {
    r.analytic.unavailable = "no config.json";
    r.kv_unavailable = "no config.json";
    return r;
  }
  const ModelConfig& config = *model.config;
  if (auto a = analytic_count(config)) {
    r.analytic.count = std::move(*a);
    if (!model.tensors.empty()) {
      r.analytic.difference =
          static_cast<int64_t>(r.params.total) - static_cast<int64_t>(r.analytic.count->total);
      if (r.analytic.difference != 0) {
        r.analytic.explanation = explain(model, r.params, r.analytic.difference);
      }
    }
  } else {
    r.analytic.unavailable = a.error().why;
  }
  if (auto kv = kv_cache(config, options.context, options.batch)) {
    r.kv = std::move(*kv);
  } else {
    r.kv_unavailable = kv.error().why;
  }
  r.layers.count = config.num_layers.value_or(0);
  r.layers.kinds = layer_kinds(config.layer_attention, config.layer_mlp);
  r.layers.pattern = compress_layer_pattern(r.layers.kinds);
  return r;
}

}  // namespace mbuild
