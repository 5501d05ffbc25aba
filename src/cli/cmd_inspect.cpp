// mbuild inspect <source>...: a summary of each model (config, files, params, memory, layers).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/render/render.hpp"

namespace mbuild::cli {
namespace {

struct InspectCommandOptions {
  CommonOptions common;
  std::vector<std::string> sources;
  std::string tensors_csv;
  uint64_t context = 0;
  uint64_t batch = 1;
};

int run_inspect(const InspectCommandOptions& o) {
  if (!o.tensors_csv.empty() && o.sources.size() != 1) {
    print_error({ErrorKind::usage, "--tensors-csv", "takes exactly one source"});
    return 2;
  }
  if (o.common.format == "md") {
    print_error({ErrorKind::usage, "--format md", "inspect writes text or json"});
    return 2;
  }
  const Environment& env = environment();
  auto models = load_models(o.sources, o.common, env);
  int exit = 0;
  std::string json_items;
  size_t json_count = 0;
  for (size_t i = 0; i < models.size(); ++i) {
    auto& model = models[i];
    if (!model) {
      print_error(model.error());
      exit = exit ? exit : exit_code(model.error().kind);
      continue;
    }
    // No weights, no report: exit 4 and nothing on stdout, as for a bin-only or GGUF-only repo
    // (README "Exit codes"); config.json alone is checked by validate.
    if (model->files.empty()) {
      Error e{ErrorKind::not_found, model->ref.id, "no safetensors weights",
              model->other_weights.empty()
                  ? "mbuild reads safetensors headers"
                  : fmt::format("found {}; mbuild reads safetensors headers only",
                                fmt::join(model->other_weights, ", "))};
      print_error(e);
      exit = exit ? exit : exit_code(e.kind);
      continue;
    }
    const Analysis report = analyze(*model, {.context = o.context, .batch = o.batch});
    if (o.common.format == "variant") {
      const std::string text = render_variant(*model, variant_report(*model, report.params));
      std::fputs((i > 0 ? "\n" + text : text).c_str(), stdout);
    } else if (o.common.format == "json") {
      json_items += (json_count++ ? "," : "") + render_inspect_json(*model, report);
    } else {
      std::string text = render_inspect_text(*model, report);
      std::fputs((i > 0 ? "\n" + text : text).c_str(), stdout);
    }
    if (!o.tensors_csv.empty()) {
      if (auto ok = write_file_atomic(o.tensors_csv, render_tensors_csv(*model, report)); !ok) {
        print_error(ok.error());
        exit = exit ? exit : exit_code(ok.error().kind);
      }
    }
  }
  if (o.common.format == "json" && json_count > 0) {
    std::fputs(o.sources.size() == 1 ? json_items.c_str() : ("[" + json_items + "]\n").c_str(),
               stdout);
  }
  std::fflush(stdout);
  return exit;
}

}  // namespace

void setup_inspect(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InspectCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Summarise models: config, files, params by dtype and component, memory, layers");
  sub->add_option("source", options->sources,
                  "Hub id org/name[@revision], model folder, or .safetensors file")
      ->required();
  add_common_options(*sub, options->common);
  sub->add_option("--tensors-csv", options->tensors_csv,
                  "Write one row per tensor (kind,name,shape,dtype) to FILE");
  sub->add_option("--context", options->context, "Context length for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--batch", options->batch, "Batch size for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  sub->callback([options, &exit_code] { exit_code = run_inspect(*options); });
}

}  // namespace mbuild::cli
