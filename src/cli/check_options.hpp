// The expectations validate and emit-config both take: --expected-params, --tolerance,
// --expected-layers, --against and --source.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "mbuild/report/validate.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild::cli {

struct CheckFlags {
  std::string expected_params;  // as typed: "70553706496", "70.55B", "7.0e10"
  double tolerance = k_default_tolerance;
  std::optional<uint64_t> expected_layers;
  std::string against;      // a contract file
  std::string source_text;  // where the expected values come from
};

void add_check_options(CLI::App& app, CheckFlags& flags);

// Parses the count and loads the contract: usage (exit 2) for a bad count, exit 3 naming the
// field for a malformed contract.
Result<ValidateOptions> make_validate_options(const CheckFlags& flags);

}  // namespace mbuild::cli
