// mbuild validate <source>: every check on one model; exit 1 when any fails.
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/contract.hpp"
#include "core/validate.hpp"

namespace mbuild::cli {
namespace {

struct ValidateCommandOptions {
  CommonOptions common;
  std::string source;
  std::string expected_params;
  double tolerance = k_default_tolerance;
  std::optional<uint64_t> expected_layers;
  std::string against;
  std::string source_text;
  uint64_t context = 0;
  uint64_t batch = 1;
};

int run_validate(const ValidateCommandOptions& o) {
  ValidateOptions options;
  options.tolerance = o.tolerance;
  options.expected_layers = o.expected_layers;
  options.source_text = o.source_text;
  options.context = o.context;
  options.batch = o.batch;
  if (!o.expected_params.empty()) {
    auto n = parse_param_count(o.expected_params);
    if (!n) {
      print_error(n.error());
      return exit_code(n.error().kind);
    }
    options.expected_params = *n;
  }
  if (!o.against.empty()) {
    auto contract = load_contract(o.against);
    if (!contract) {
      print_error(contract.error());
      return exit_code(contract.error().kind);
    }
    options.contract = std::move(*contract);
  }
  auto models = load_models({o.source}, o.common, environment());
  auto& model = models.front();
  if (!model) {
    print_error(model.error());
    return exit_code(model.error().kind);
  }
  const ValidationReport report = validate_model(*model, options);
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
  sub->add_option("--expected-params", options->expected_params,
                  "Expected total params: 70553706496, 70.55B or 7.0e10 (K/M/B/T suffixes)");
  sub->add_option("--tolerance", options->tolerance,
                  "Relative tolerance for expected params (default 0.01)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--expected-layers", options->expected_layers, "Expected number of layers");
  sub->add_option("--against", options->against,
                  "A contract (emitted or hand-written model config JSON) to cross-validate");
  sub->add_option("--source", options->source_text,
                  "Where the expected values come from (a URL, a paper), for the report");
  sub->add_option("--context", options->context, "Context length for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--batch", options->batch, "Batch size for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  sub->callback([options, &exit_code] { exit_code = run_validate(*options); });
}

}  // namespace mbuild::cli
