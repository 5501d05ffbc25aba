// mbuild: registers the subcommands and maps every outcome to an exit code.
#include <malloc.h>

#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace {

constexpr const char* k_exit_codes =
    "Exit codes:\n"
    "  0  success (validate: every check passed)\n"
    "  1  validate: at least one check failed\n"
    "  2  usage error\n"
    "  3  bad input: malformed or inconsistent config, index, header or contract\n"
    "  4  not found: repo, revision or file\n"
    "  5  access denied: gated or private repo, bad or missing token\n"
    "  6  network: timeout, connection failure, 5xx/429 after retries, offline miss\n";

}  // namespace

int main(int argc, char** argv) {
  // One arena and no mmap for large blocks: freed header buffers are reused for the tensor
  // table instead of returned to the kernel and faulted in again (a third of the run time on
  // a 76k-tensor model).
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  CLI::App app{
      "mbuild: model configs and gap reports from Hugging Face models, read from "
      "config.json and safetensors headers"};
  app.set_version_flag("--version", "mbuild " MBUILD_VERSION);
  app.footer(k_exit_codes);
  app.require_subcommand(1);
  int exit_code = 0;
  mbuild::cli::setup_inspect(app, exit_code);
  mbuild::cli::setup_validate(app, exit_code);
  mbuild::cli::setup_emit_config(app, exit_code);
  try {
    mbuild::cli::set_environment(mbuild::cli::Environment::from_process());
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error; CLI11's own text names the flag and the fault.
    std::fprintf(stderr, "mbuild: error: %s (see mbuild --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mbuild: error: %s\n", e.what());
    return 3;
  }
  return exit_code;
}
