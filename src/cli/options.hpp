// Options shared by every subcommand, the environment they fall back to, and source opening.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mbuild/model/model.hpp"
#include "mbuild/snapshot/snapshot.hpp"
#include "mbuild/util/atomic_write.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild::cli {

struct CommonOptions {
  std::string revision;
  std::string endpoint;
  std::string token;
  std::string format = "text";
  std::string color = "auto";
  bool offline = false;
  bool quiet = false;
  bool no_progress = false;
  unsigned jobs = 256;
  std::string gguf_file;  // --file: one GGUF quantization of several (a file, variant or tag)
};

// The Hub's environment variables (DESIGN.md "Environment"), read once in main.
struct Environment {
  std::string endpoint = "https://huggingface.co";
  std::string token;  // never printed
  std::filesystem::path hf_home;
  std::filesystem::path hub_cache;
  std::filesystem::path mbuild_cache;  // $MBUILD_CACHE, else $XDG_CACHE_HOME/mbuild
  bool offline = false;
  bool no_color = false;
  long download_timeout = 10;

  static Environment from_process();
};

// Registers --revision, --endpoint, --token, --offline, --format, --jobs, --quiet, ...
void add_common_options(CLI::App& app, CommonOptions& options);

// What a source string names: a local folder or .safetensors file, or a Hub id (org/name[@rev])
// read from the Hub, or from the HF cache when offline.
Result<std::unique_ptr<ModelSource>> open_source(const std::string& spec,
                                                 const CommonOptions& options,
                                                 const Environment& env);

// Opens and builds each source, several at a time (--jobs), results in input order.
std::vector<Result<Model>> load_models(const std::vector<std::string>& specs,
                                       const CommonOptions& options, const Environment& env);

// Prints "mbuild: error: <what>: <why>" on stderr.
void print_error(const Error& error);

// The exit code for running out of memory (std::bad_alloc, std::length_error), which main
// catches: no ErrorKind stands for it (README "Exit codes").
inline constexpr int k_exit_out_of_memory = 7;

// The process exit code for an error kind (README "Exit codes"): the only place kinds become
// codes.
int exit_code(ErrorKind kind);

// The process environment, set up by main before any command runs.
const Environment& environment();
void set_environment(Environment env);

}  // namespace mbuild::cli
