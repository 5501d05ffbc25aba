// One subcommand, one file: each registers itself on the app and, when it runs, leaves its
// exit code in `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace mbuild::cli {

void setup_inspect(CLI::App& app, int& exit_code);
void setup_validate(CLI::App& app, int& exit_code);
void setup_emit_config(CLI::App& app, int& exit_code);
void setup_lint_config(CLI::App& app, int& exit_code);
void setup_emit_contract(CLI::App& app, int& exit_code);

}  // namespace mbuild::cli
