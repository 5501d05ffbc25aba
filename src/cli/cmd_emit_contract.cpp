// mbuild emit-contract <source>: the family contract (YAML) a model implies, on stdout or in
// --out FILE.
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/analysis/compliance.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/render/render_family_contract.hpp"
#include "mbuild/util/atomic_write.hpp"

namespace mbuild::cli {
namespace {

struct EmitContractOptions {
  CommonOptions common;
  std::string source;
  std::string out;  // a file; empty: stdout
};

int run_emit_contract(const EmitContractOptions& o) {
  if (o.common.format != "text") {
    print_error({ErrorKind::usage, "--format", "emit-contract writes YAML"});
    return 2;
  }
  auto models = load_models({o.source}, o.common, environment());
  auto& model = models.front();
  if (!model) {
    print_error(model.error());
    return exit_code(model.error().kind);
  }
  if (!model->config) {
    const Error e(ErrorKind::bad_input, o.source, "no config.json: a contract needs its dims");
    print_error(e);
    return exit_code(e.kind);
  }
  const std::string yaml =
      render_family_contract_yaml(derive_family_contract(*model, count_params(*model)));
  if (o.out.empty()) {
    std::fputs(yaml.c_str(), stdout);
    std::fflush(stdout);
    return 0;
  }
  if (auto ok = write_file_atomic(o.out, yaml); !ok) {
    print_error(ok.error());
    return exit_code(ok.error().kind);
  }
  return 0;
}

}  // namespace

void setup_emit_contract(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<EmitContractOptions>();
  CLI::App* sub = app.add_subcommand(
      "emit-contract",
      "Write the family contract (YAML) a model implies: dims from config.json, tensor and shape "
      "templates from the tensors ({n} for the layer index)");
  sub->add_option("source", options->source,
                  "Hub id org/name[@revision][:TAG], model folder, .safetensors / .gguf file")
      ->required();
  add_common_options(*sub, options->common);
  sub->add_option("--out", options->out, "Write the contract to this file instead of stdout");
  sub->callback([options, &exit_code] { exit_code = run_emit_contract(*options); });
}

}  // namespace mbuild::cli
