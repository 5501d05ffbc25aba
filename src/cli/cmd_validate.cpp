// mbuild validate <source>: every check on one model; exit 1 when any fails.
#include <cstdio>
#include <memory>

#include "cli/check_options.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/render/render_validation.hpp"
#include "mbuild/report/validate.hpp"

namespace mbuild::cli {
namespace {

struct ValidateCommandOptions {
  CommonOptions common;
  std::string source;
  CheckFlags checks;
  uint64_t context = 0;
  uint64_t batch = 1;
};

int run_validate(const ValidateCommandOptions& o) {
  auto options = make_validate_options(o.checks);
  if (!options) {
    print_error(options.error());
    return exit_code(options.error().kind);
  }
  options->context = o.context;
  options->batch = o.batch;
  if (o.common.format == "jsonl" || !o.common.from.empty()) {
    print_error({ErrorKind::usage, o.common.from.empty() ? "--format jsonl" : "--from",
                 "validate checks one source"});
    return 2;
  }
  auto models = load_models({o.source}, o.common, environment());
  auto& model = models.front();
  if (!model) {
    print_error(model.error());
    return exit_code(model.error().kind);
  }
  const ValidationReport report = validate_model(*model, *options);
  const std::string text = o.common.format == "json" ? render_validation_json(report)
                           : o.common.format == "md" ? render_validation_md(report)
                                                     : render_validation_text(report);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  return report.passed() ? 0 : 1;
}

}  // namespace

void setup_validate(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ValidateCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "validate",
      "Check a model: expected values, a contract and its cross-validation, config against "
      "weights, memory; exit 1 when any check fails");
  sub->add_option("source", options->source,
                  "Hub id org/name[@revision], model folder, or .safetensors file")
      ->required();
  add_common_options(*sub, options->common);
  add_check_options(*sub, options->checks);
  sub->add_option("--context", options->context, "Context length for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--batch", options->batch, "Batch size for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  sub->callback([options, &exit_code] { exit_code = run_validate(*options); });
}

}  // namespace mbuild::cli
