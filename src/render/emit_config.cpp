#include "mbuild/render/emit_config.hpp"
#include "mbuild/report/validate.hpp"

#include <fmt/format.h>

#include "mbuild/render/gap_report.hpp"
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
  v.validated = v.report.passed();
  v.notes = validation_summary(v.report);
  v.sources = v.report.sources;
  return v;
}

std::string validation_report_file_name(std::string_view model_id) {
  return fmt::format("{}.validation.md", model_id);
}

ordered_json build_emitted_config(const Model& model, const Analysis& analysis,
                                  const Catalog& catalog, const ValidationOutcome& validation,
                                  std::string_view gaps_prefix) {
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
  doc["model_type"] = cfg ? cfg->model_type : std::string();
  doc["architectures"] = cfg ? cfg->architectures : std::vector<std::string>{};
  doc["hidden_size"] = cfg ? cfg->hidden_size.value_or(0) : 0;
  doc["num_layers"] = cfg ? cfg->num_layers.value_or(0) : 0;
  doc["vocab_size"] = cfg ? cfg->vocab_size.value_or(0) : 0;
  doc["total_params"] = params.total;
  doc["total_params_formatted"] = format_count(params.total);
  doc["tie_word_embeddings"] = params.tied_embeddings;
  doc["layer_pattern"] = analysis.layers.pattern;
  ordered_json types = ordered_json::array();
  for (const LayerEntry& e : map.entries) {
    ordered_json t;
    t["name"] = e.name;
    t["class"] = e.layer_class;
    t["count"] = e.count;
    const CatalogClass* known = catalog.find(e.layer_class);
    t["supported"] = known != nullptr;
    if (!known) {
      t["gap_report"] = fmt::format("{}/{}", gaps_prefix, gap_file_name(e.layer_class));
    }
    ordered_json specs = e.specs;
    if (known) {
      // Constructor parameters the mapper has no value for take the catalog's defaults.
      for (const std::string& p : known->params) {
        if (!specs.contains(p) && known->defaults.contains(p)) {
          specs[p] = known->defaults[p];
        }
      }
      const uint64_t pc = specs["parameter_count"].get<uint64_t>();
      specs.erase("parameter_count");
      specs["parameter_count"] = pc;
    }
    t["specs"] = std::move(specs);
    types.push_back(std::move(t));
  }
  doc["layer_types"] = std::move(types);
  ordered_json findings = ordered_json::array();
  for (const Finding& f : map.findings) {
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
