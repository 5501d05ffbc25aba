#include "mbuild/render/emit_config.hpp"
#include "mbuild/report/validate.hpp"

#include <fmt/format.h>

#include "mbuild/render/gap_report.hpp"
#include "mbuild/report/layer_checks.hpp"
#include "util/format.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

std::string safe_name(std::string s) {
  for (char& c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      c = '_';
    }
  }
  return s;
}

bool is_local(const ModelRef& ref) {
  return ref.source == "local";
}

}  // namespace

std::string emitted_hf_model_id(const ModelRef& ref) {
  if (is_local(ref)) {
    if (auto sep = ref.id.find("__"); sep != std::string::npos && sep > 0 &&
                                      sep + 2 < ref.id.size() &&
                                      ref.id.find('/') == std::string::npos) {
      return ref.id.substr(0, sep) + "/" + ref.id.substr(sep + 2);
    }
  }
  return ref.id;
}

std::string emitted_model_id(const ModelRef& ref) {
  std::string id = emitted_hf_model_id(ref);
  for (char& c : id) {
    if (c == '/') {
      c = '_';
    }
  }
  id = safe_name(id);
  return id.empty() ? std::string("model") : id;
}

ValidationOutcome validation_for_emit(const Model& model, const Analysis& analysis,
                                      const ValidateOptions& options) {
  // The same checks `mbuild validate` runs (config <-> weights, index <-> shards, ...), plus
  // the accounting invariant the emitted layer list must keep.
  const ParamCount& params = analysis.params;
  const LayerMap& map = *analysis.map;
  ValidationOutcome v;
  v.report = validate_model(model, analysis, options);
  v.report.model_id = emitted_hf_model_id(model.ref);
  const bool balanced = map.total == params.total;
  v.report.checks.push_back(
      {"accounting", "sum of count x parameter_count = total_params",
       balanced ? CheckStatus::pass : CheckStatus::fail,
       balanced ? fmt::format("{} = {}", map.total, params.total)
                : fmt::format("{} differs from total_params {}", map.total, params.total)});
  v.layer_findings = layer_findings(map, model.config ? &*model.config : nullptr);
  v.layer_findings.insert(v.layer_findings.end(), analysis.layers.disagreements.begin(),
                          analysis.layers.disagreements.end());
  v.validated = v.report.passed();
  v.notes = validation_summary(v.report);
  v.sources = v.report.sources;
  return v;
}

std::string validation_report_file_name(std::string_view model_id) {
  return fmt::format("{}.validation.md", model_id);
}

namespace {

// The `config` object: the config.json fields `validate --against` compares, as config.json
// resolves them (aliases, text_config, family defaults). Fields the config leaves unknown are
// left out.
ordered_json config_fields(const ModelConfig& c) {
  ordered_json o = ordered_json::object();
  o["model_type"] = c.model_type;
  o["architectures"] = c.architectures;
  auto count = [&](const char* key, const std::optional<uint64_t>& v) {
    if (v) {
      o[key] = *v;
    }
  };
  count("hidden_size", c.hidden_size);
  count("num_layers", c.num_layers);
  count("num_heads", c.num_heads);
  count("num_kv_heads", c.num_kv_heads);
  count("head_dim", c.head_dim);
  count("intermediate_size", c.intermediate_size);
  count("vocab_size", c.vocab_size);
  count("max_position_embeddings", c.max_position_embeddings);
  if (c.rope_theta) {
    o["rope_theta"] = *c.rope_theta;
  }
  if (const nlohmann::json* rs = c.find("rope_scaling"); rs && rs->is_object()) {
    o["rope_scaling"] = *rs;
  }
  if (c.norm_eps) {
    o["norm_eps"] = *c.norm_eps;
  }
  count("sliding_window", c.sliding_window);
  if (c.tie_word_embeddings) {
    o["tie_word_embeddings"] = *c.tie_word_embeddings;
  }
  if (!c.torch_dtype.empty()) {
    o["torch_dtype"] = c.torch_dtype;
  }
  if (c.is_moe()) {
    count("num_experts", c.num_experts);
    count("top_k", c.top_k);
    count("moe_intermediate_size", c.moe_intermediate_size);
  }
  if (!c.quant.method.empty()) {
    ordered_json q;
    q["method"] = c.quant.method;
    if (c.quant.bits) {
      q["bits"] = c.quant.bits;
    }
    o["quantization"] = std::move(q);
  }
  return o;
}

// One entry as the estimator reads it: layer_idx first, the constructor's arguments (those the
// part left out take the catalog's defaults), parameter_count last.
ordered_json entry_json(const LayerEntry& e, const CatalogClass* known,
                        std::string_view gaps_prefix) {
  ordered_json t;
  t["name"] = e.name;
  t["class"] = e.layer_class;
  t["count"] = e.count;
  t["supported"] = known != nullptr;
  if (!known) {
    t["gap_report"] = fmt::format("{}/{}", gaps_prefix, gap_file_name(e.layer_class));
  }
  ordered_json specs = e.specs;
  if (known) {
    ordered_json ordered;
    if (known->takes("layer_idx")) {
      ordered["layer_idx"] = specs.value("layer_idx", ordered_json(0));
    }
    for (const auto& [k, v] : specs.items()) {
      if (k != "layer_idx" && k != "parameter_count") {
        ordered[k] = v;
      }
    }
    for (const std::string& p : known->params) {
      if (!ordered.contains(p) && known->defaults.contains(p)) {
        ordered[p] = known->defaults[p];
      }
    }
    ordered["parameter_count"] = e.parameter_count;
    specs = std::move(ordered);
  }
  t["specs"] = std::move(specs);
  return t;
}

}  // namespace

ordered_json build_emitted_config(const Model& model, const Analysis& analysis,
                                  const Catalog& catalog, const ValidationOutcome& validation,
                                  std::string_view gaps_prefix, ConfigLayout layout) {
  const ParamCount& params = analysis.params;
  const LayerMap& map = *analysis.map;
  const ModelConfig* cfg = model.config ? &*model.config : nullptr;
  const std::string hf_id = emitted_hf_model_id(model.ref);
  ordered_json doc;
  doc["schema_version"] = k_emitted_config_schema_version;
  doc["model_id"] = emitted_model_id(model.ref);
  doc["hf_model_id"] = hf_id;
  const std::string revision = !model.ref.commit.empty() ? model.ref.commit : model.ref.revision;
  if (!revision.empty()) {
    doc["revision"] = revision;
  }
  const auto slash = hf_id.rfind('/');
  doc["name"] = slash == std::string::npos ? hf_id : hf_id.substr(slash + 1);
  doc["hidden_size"] = cfg ? cfg->hidden_size.value_or(0) : 0;
  doc["num_layers"] = cfg ? cfg->num_layers.value_or(0) : 0;
  doc["vocab_size"] = cfg ? cfg->vocab_size.value_or(0) : 0;
  doc["total_params"] = params.total;
  doc["total_params_formatted"] = format_count(params.total);
  if (!analysis.fingerprint.empty()) {
    doc["fingerprint"] = analysis.fingerprint;
  }
  doc["tie_word_embeddings"] = params.tied_embeddings;
  doc["layer_pattern"] = analysis.layers.pattern;
  doc["config"] = cfg ? config_fields(*cfg) : ordered_json::object();
  ordered_json supported = ordered_json::array();
  ordered_json unsupported = ordered_json::array();
  for (const LayerEntry& e : map.entries) {
    const CatalogClass* known = catalog.find(e.layer_class);
    ordered_json t = entry_json(e, known, gaps_prefix);
    (known || layout == ConfigLayout::inline_list ? supported : unsupported)
        .push_back(std::move(t));
  }
  doc["layer_types"] = std::move(supported);
  if (layout == ConfigLayout::estimator) {
    doc["unsupported_layer_types"] = std::move(unsupported);
  }
  ordered_json findings = ordered_json::array();
  for (const Finding& f : validation.layer_findings) {
    findings.push_back(f.where.empty() ? f.text : f.where + ": " + f.text);
  }
  doc["findings"] = std::move(findings);
  doc["validated"] = validation.validated;
  doc["validation_notes"] = validation.notes;
  doc["validation_sources"] = validation.sources;
  return doc;
}

std::string render_emitted_config(const ordered_json& config) {
  return config.dump(2) + "\n";
}

}  // namespace mbuild
