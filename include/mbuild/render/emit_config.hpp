// The emitted model config (DESIGN.md "Emitted config"): model_configs/<model_id>.json for the
// performance estimator, built from the layer map.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/report/validate.hpp"

namespace mbuild {

inline constexpr int k_emitted_config_schema_version = 2;

// `estimator`: `layer_types` holds only the catalog's classes (what the estimator loads as it
// is), the rest is in `unsupported_layer_types`. `inline_list`: one `layer_types` list with
// `"supported": false` entries among the others (schema 1's form).
enum class ConfigLayout { estimator, inline_list };

// The file stem and "model_id": the Hub id with '/' -> '_'. A local folder named like the
// corpus ("org__name") stands for the Hub id "org/name" and gives "org_name"; any other folder
// or file gives its name. Characters outside [A-Za-z0-9._-] become '_'.
std::string emitted_model_id(const ModelRef& ref);
// "org/name" for Hub and HF-cache sources and "org__name" folders; else the local name.
std::string emitted_hf_model_id(const ModelRef& ref);

// What the validate checks concluded, for "validated" / "validation_notes" /
// "validation_sources".
struct ValidationOutcome {
  bool validated = false;
  std::string notes;
  std::vector<std::string> sources;
  ValidationReport report;  // the whole report, for <model_id>.validation.md
  // The layer map's shapes against config.json (report/layer_checks): "findings".
  std::vector<Finding> layer_findings;
};

// The validated fields: the validate command's checks with `options` (expected values, a
// contract; none by default), plus the accounting invariant (Σ count x parameter_count ==
// total_params), which also becomes a check of the report. `analysis` holds the layer map.
ValidationOutcome validation_for_emit(const Model& model, const Analysis& analysis,
                                      const ValidateOptions& options = ValidateOptions{});

// The validation report's file name beside the config: "<model_id>.validation.md".
std::string validation_report_file_name(std::string_view model_id);

// The config document, from an analysis that holds the layer map (cut with the same catalog).
// `gaps_prefix` is put before each gap report file name ("gaps" -> "gaps/mla.md").
nlohmann::ordered_json build_emitted_config(const Model& model, const Analysis& analysis,
                                            const Catalog& catalog,
                                            const ValidationOutcome& validation,
                                            std::string_view gaps_prefix,
                                            ConfigLayout layout = ConfigLayout::estimator);

// The bytes written: two-space indent, trailing newline.
std::string render_emitted_config(const nlohmann::ordered_json& config);

}  // namespace mbuild
