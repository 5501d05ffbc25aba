// mbuild emit-config: not built yet.
#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace mbuild::cli {

void setup_emit_config(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand("emit-config", "Write model_configs/<model_id>.json and gaps/*.md");
  sub->allow_extras();
  sub->callback([&exit_code] {
    print_error({ErrorKind::usage, "emit-config", "not implemented yet"});
    exit_code = 2;
  });
}

}  // namespace mbuild::cli
