// mbuild validate: not built yet.
#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace mbuild::cli {

void setup_validate(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand("validate", "Check a model: cross-validation, expected values, config against weights");
  sub->allow_extras();
  sub->callback([&exit_code] {
    print_error({ErrorKind::usage, "validate", "not implemented yet"});
    exit_code = 2;
  });
}

}  // namespace mbuild::cli
