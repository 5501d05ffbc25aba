#include "cli/check_options.hpp"

#include "mbuild/arch/contract.hpp"

namespace mbuild::cli {

void add_check_options(CLI::App& app, CheckFlags& flags) {
  app.add_option("--expected-params", flags.expected_params,
                 "Expected total params: 70553706496, 70.55B or 7.0e10 (K/M/B/T suffixes)");
  app.add_option("--tolerance", flags.tolerance,
                 "Relative tolerance for expected params (default 0.01)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--expected-layers", flags.expected_layers, "Expected number of layers");
  app.add_option("--against", flags.against,
                 "A contract (emitted or hand-written model config JSON) to cross-validate");
  app.add_option("--source", flags.source_text,
                 "Where the expected values come from (a URL, a paper), for the report");
}

Result<ValidateOptions> make_validate_options(const CheckFlags& flags) {
  ValidateOptions options;
  options.tolerance = flags.tolerance;
  options.expected_layers = flags.expected_layers;
  options.source_text = flags.source_text;
  if (!flags.expected_params.empty()) {
    auto n = parse_param_count(flags.expected_params);
    if (!n) {
      return tl::unexpected(n.error());
    }
    options.expected_params = *n;
  }
  if (!flags.against.empty()) {
    auto contract = load_contract(flags.against);
    if (!contract) {
      return tl::unexpected(contract.error());
    }
    options.contract = std::move(*contract);
  }
  return options;
}

}  // namespace mbuild::cli
