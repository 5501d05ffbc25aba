// mbuild validate <source>: every check on one model; exit 1 when any fails.
#include <cstdio>
#include <memory>

#include "cli/check_options.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/arch/family_contract.hpp"
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
  std::string family = "auto";
  std::string size;
  std::string contracts;  // a registry folder instead of the built-in contracts
};

int run_validate(const ValidateCommandOptions& o) {
  if (o.common.format == "variant") {
    print_error({ErrorKind::usage, "--format variant", "only inspect writes the variant block"});
    return 2;
  }
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
  // The family registry: --contracts DIR, else the contracts compiled into the binary.
  std::vector<FamilyContract> loaded;
  if (!o.contracts.empty()) {
    auto registry = load_family_contracts(o.contracts);
    if (!registry) {
      print_error(registry.error());
      return exit_code(registry.error().kind);
    }
    loaded = std::move(*registry);
  }
  options->families = o.contracts.empty() ? &builtin_family_contracts() : &loaded;
  options->family = o.family;
  options->size = o.size;
  auto models = load_models({o.source}, o.common, environment());
  auto& model = models.front();
  if (!model) {
    print_error(model.error());
    return exit_code(model.error().kind);
  }
  const ValidationReport report = validate_model(*model, *options);
  if (report.family_error) {
    print_error(*report.family_error);
    return exit_code(report.family_error->kind);
  }
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
                  "Hub id org/name[@revision][:TAG], model folder, .safetensors / .gguf file")
      ->required();
  add_common_options(*sub, options->common);
  add_check_options(*sub, options->checks);
  sub->add_option("--context", options->context, "Context length for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--batch", options->batch, "Batch size for the KV-cache figure")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  sub->add_option("--family", options->family,
                  "Family contract to check against (NAME, or auto: detect; default auto)");
  sub->add_option("--size", options->size,
                  "Size variant of the family (default: the one with config.json's hidden size "
                  "and layer count); a variant config.json contradicts fails the check");
  sub->add_option("--contracts", options->contracts,
                  "Folder of family contracts (*.yaml) instead of the built-in ones");
  sub->callback([options, &exit_code] { exit_code = run_validate(*options); });
}

}  // namespace mbuild::cli
