// Gap reports (DESIGN.md "Gap reports"): one markdown document per layer class the estimator's
// catalog lacks, from a template per class, filled with each model's own tensors and numbers.
//
// A report holds one section per model, between `<!-- mbuild:model ID -->` and
// `<!-- mbuild:end ID -->` markers, sorted by model id. Rendering a model's section never reads
// another model, and merging keeps every other model's section as it is, so a report is a
// function of the set of models it has seen: re-running any of them gives the same bytes.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

// The report file of a class: "mla.md", "gated_deltanet.md", ...; classes without a template
// get their snake_case name ("SlidingWindowAttentionLayer" -> "sliding_window_attention_layer.md").
std::string gap_file_name(std::string_view layer_class);

// This model's section of each report it contributes to: class -> section markdown (markers
// included), for every class of `map` the catalog does not support.
std::map<std::string, std::string> render_gap_sections(const Model& model, const ParamCount& params,
                                                       const LayerMap& map, const Catalog& catalog,
                                                       std::string_view model_id);

// The model sections of an existing report: model id -> section (markers included). Text
// outside the markers is the template's and is not kept.
std::map<std::string, std::string> parse_gap_sections(std::string_view report);

// The whole report for `layer_class` holding `sections` (model id -> section), in id order.
std::string render_gap_report(std::string_view layer_class,
                              const std::map<std::string, std::string>& sections);

// The section headings every report has (for tests and readers): "What it computes", ...
const std::vector<std::string_view>& gap_report_headings();

}  // namespace mbuild
