// mbuild emit-config <source>...: writes model_configs/<model_id>.json, its validation report
// <model_id>.validation.md beside it, and gaps/<layer>.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/check_options.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/render/emit_config.hpp"
#include "mbuild/render/gap_report.hpp"
#include "mbuild/render/render_validation.hpp"

namespace mbuild::cli {
namespace {

namespace fs = std::filesystem;

struct EmitConfigCommandOptions {
  CommonOptions common;
  std::vector<std::string> sources;
  std::string out_dir = "model_configs";
  std::string gaps_dir = "gaps";
  std::string catalog;
  std::string layout = "estimator";
  CheckFlags checks;
};

// How configs name their gap reports: the gaps folder relative to the configs folder's parent,
// so the default layout (model_configs/ beside gaps/) gives "gaps/mla.md" wherever it lives.
std::string gaps_prefix(const fs::path& out_dir, const fs::path& gaps_dir) {
  std::error_code ec;
  const fs::path base = fs::absolute(out_dir, ec).lexically_normal().parent_path();
  const fs::path gaps = fs::absolute(gaps_dir, ec).lexically_normal();
  fs::path rel = gaps.lexically_relative(base);
  std::string s = (rel.empty() ? gaps : rel).generic_string();
  while (s.size() > 1 && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<void> make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return fail(ErrorKind::io, dir.string(), "cannot create the folder");
  }
  return {};
}

int run_emit_config(const EmitConfigCommandOptions& o) {
  if (o.common.format == "variant") {
    print_error({ErrorKind::usage, "--format variant", "only inspect writes the variant block"});
    return 2;
  }
  Catalog catalog = builtin_catalog();
  if (!o.catalog.empty()) {
    auto loaded = load_catalog(o.catalog);
    if (!loaded) {
      print_error(loaded.error());
      return exit_code(loaded.error().kind);
    }
    catalog = std::move(*loaded);
  }
  const auto checks = make_validate_options(o.checks);
  if (!checks) {
    print_error(checks.error());
    return exit_code(checks.error().kind);
  }
  const fs::path out_dir(o.out_dir), gaps_dir(o.gaps_dir);
  const std::string prefix = gaps_prefix(out_dir, gaps_dir);
  auto sources = gather_sources(o.sources, o.common);
  if (!sources) {
    print_error(sources.error());
    return exit_code(sources.error().kind);
  }
  const bool jsonl = o.common.format == "jsonl";
  const auto started = std::chrono::steady_clock::now();
  BatchSummary summary;
  int exit = 0;
  std::vector<std::string> written;
  // class -> (model id -> section): every report touched by this run.
  std::map<std::string, std::map<std::string, std::string>> gap_sections;
  // Each model's files are written as soon as it is read; the gap reports, which gather every
  // model, at the end: written once each, every output stays either its previous version or
  // its complete new one, whenever the run stops (tests/e2e/durability_test.cpp).
  for_each_model(*sources, o.common, environment(), o.common.ordered, [&](SourceResult& r) {
    const size_t written_before = written.size();
    int code = 0;
    auto note_error = [&](const Error& e) {
      print_error(e);
      code = std::max(code, exit_code(e.kind));
      exit = std::max(exit, exit_code(e.kind));
    };
    auto report = [&] {
      summary.add(r, code);
      if (jsonl) {
        nlohmann::json files(std::vector<std::string>(
            written.begin() + static_cast<long>(written_before), written.end()));
        std::fputs(
            (nlohmann::json{{"source", *r.spec}, {"exit_code", code}, {"written", files}}.dump() +
             "\n")
                .c_str(),
            stdout);
        std::fflush(stdout);
      } else if (o.common.format != "json" && !o.common.quiet) {
        for (size_t i = written_before; i < written.size(); ++i) {
          std::fputs(fmt::format("wrote {}\n", written[i]).c_str(), stdout);
        }
        std::fflush(stdout);
      }
    };
    auto& model = r.model;
    if (!model) {
      note_error(model.error());
      return report();
    }
    if (model->tensors.empty()) {
      note_error({ErrorKind::not_found, model->ref.id, "no safetensors weights",
                  "emit-config maps the tensors of safetensors headers"});
      return report();
    }
    // Every figure once: the counts, the layer map, the checks' inputs.
    const Analysis analysis = analyze(*model, {.context = checks->context,
                                               .batch = checks->batch,
                                               .explain = true,
                                               .map_layers = true,
                                               .catalog = &catalog});
    const ParamCount& params = analysis.params;
    const LayerMap& map = *analysis.map;
    const std::string id = emitted_model_id(model->ref);
    const ValidationOutcome validation = validation_for_emit(*model, analysis, *checks);
    const auto doc = build_emitted_config(
        *model, analysis, catalog, validation, prefix,
        o.layout == "inline" ? ConfigLayout::inline_list : ConfigLayout::estimator);
    if (auto ok = make_dir(out_dir); !ok) {
      note_error(ok.error());
      return report();
    }
    const fs::path path = out_dir / (id + ".json");
    if (auto ok = write_file_atomic(path, render_emitted_config(doc)); !ok) {
      note_error(ok.error());
      return report();
    }
    written.push_back(path.string());
    const fs::path report_path = out_dir / validation_report_file_name(id);
    if (auto ok = write_file_atomic(report_path, render_validation_md(validation.report)); !ok) {
      note_error(ok.error());
      return report();
    }
    written.push_back(report_path.string());
    for (auto& [layer_class, section] : render_gap_sections(*model, params, map, catalog, id)) {
      gap_sections[layer_class][id] = std::move(section);
    }
    report();
  });
  auto note_error = [&](const Error& e) {
    print_error(e);
    exit = std::max(exit, exit_code(e.kind));
  };
  const size_t gap_files_from = written.size();
  if (!gap_sections.empty()) {
    if (auto ok = make_dir(gaps_dir); !ok) {
      note_error(ok.error());
      gap_sections.clear();
    }
  }
  for (auto& [layer_class, sections] : gap_sections) {
    const fs::path path = gaps_dir / gap_file_name(layer_class);
    std::error_code ec;
    // Sections of models not in this run are kept: the report lists every model it has seen.
    std::map<std::string, std::string> merged;
    if (fs::is_regular_file(path, ec)) {
      merged = parse_gap_sections(read_text(path));
    }
    for (auto& [id, section] : sections) {
      merged[id] = std::move(section);
    }
    if (auto ok = write_file_atomic(path, render_gap_report(layer_class, merged)); !ok) {
      note_error(ok.error());
      continue;
    }
    written.push_back(path.string());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (o.common.format == "json") {
    std::fputs((nlohmann::json(written).dump(2) + "\n").c_str(), stdout);
  } else if (jsonl) {
    std::fputs(summary.json_line(seconds).c_str(), stdout);
  } else if (!o.common.quiet) {
    for (size_t i = gap_files_from; i < written.size(); ++i) {
      std::fputs(fmt::format("wrote {}\n", written[i]).c_str(), stdout);
    }
    if (sources->size() > 1) {
      std::fputs(summary.text(seconds).c_str(), stderr);
    }
  }
  std::fflush(stdout);
  return std::max(exit, summary.exit_code());
}

}  // namespace

void setup_emit_config(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<EmitConfigCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "emit-config",
      "Write model_configs/<model_id>.json (estimator config), its validation report "
      "<model_id>.validation.md and gaps/<layer>.md reports");
  // Not required: --from may give every source (gather_sources refuses none at all).
  sub->add_option("source", options->sources,
                  "Hub id org/name[@revision][:TAG], model folder, .safetensors / .gguf file "
                  "(or --from)");
  add_common_options(*sub, options->common);
  sub->add_option("--out-dir", options->out_dir,
                  "Folder for <model_id>.json (default model_configs)");
  sub->add_option("--gaps-dir", options->gaps_dir,
                  "Folder for the gap reports of unsupported layer classes (default gaps)");
  sub->add_option("--catalog", options->catalog,
                  "JSON file of the estimator's supported layer classes (replaces the "
                  "built-in catalog)");
  sub->add_option("--layout", options->layout,
                  "estimator: layer_types holds only the catalog's classes, the rest goes to "
                  "unsupported_layer_types (default); inline: one layer_types list with "
                  "\"supported\": false entries (schema 1's form)")
      ->check(CLI::IsMember({"estimator", "inline"}));
  add_check_options(*sub, options->checks);
  sub->callback([options, &exit_code] { exit_code = run_emit_config(*options); });
}

}  // namespace mbuild::cli
