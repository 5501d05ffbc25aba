// Options shared by every subcommand, the environment they fall back to, and source opening.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  bool verbose = false;
  unsigned jobs = 256;
  unsigned max_connections = 16;
  std::string from;       // --from FILE|-: more sources, one per line
  bool ordered = false;   // stream results in input order instead of completion order
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
  unsigned fd_limit = 0;  // RLIMIT_NOFILE once main raised it (raise_fd_limit; 0: unknown)
  // TLS trust for a private CA (corporate proxies, mirrors): libcurl reads none of these itself.
  std::string ca_file;      // $CURL_CA_BUNDLE, else $REQUESTS_CA_BUNDLE, else $SSL_CERT_FILE
  std::string ca_file_var;  // which of them it came from, for messages
  std::string ca_path;      // $SSL_CERT_DIR

  static Environment from_process();
};

// Registers --revision, --endpoint, --token, --offline, --format, --jobs, --quiet, ...
void add_common_options(CLI::App& app, CommonOptions& options);

// One progress line on stderr for every source of a call (files done / in all, bytes), redrawn
// in place at most ten times a second and erased when done. Only made for a terminal.
class ProgressLine {
 public:
  explicit ProgressLine(size_t sources);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void update(const std::string& id, size_t done, size_t total, uint64_t bytes);
  void source_done();

 private:
  struct Files {
    size_t done = 0;
    size_t total = 0;
    uint64_t bytes = 0;
  };
  void draw(bool force);
  std::mutex m_mutex;
  size_t m_sources = 0;
  size_t m_sources_done = 0;
  std::map<std::string, Files> m_files;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_last_draw{};
};

// What a source string names: a local folder or .safetensors file, or a Hub id (org/name[@rev])
// read from the Hub, or from the HF cache when offline.
Result<std::unique_ptr<ModelSource>> open_source(const std::string& spec,
                                                 const CommonOptions& options,
                                                 const Environment& env,
                                                 ProgressLine* progress = nullptr);

// The sources of a call: the arguments, then --from's lines (blank lines and '#' comments
// skipped; '-' reads standard input), each once (the first occurrence kept).
Result<std::vector<std::string>> gather_sources(const std::vector<std::string>& args,
                                                const CommonOptions& options);

// One source's result, as it completes.
struct SourceResult {
  size_t index = 0;  // into the sources
  const std::string* spec = nullptr;
  Result<Model> model = tl::unexpected(Error{});
  double seconds = 0;     // from opening the source to its model
  uint64_t requests = 0;  // HTTP requests it made (0 for local sources and cache hits)
  std::optional<TransferSummary> transfer;
};

// Sources of one call read at once, at most (and at most --jobs). A Hub source waits about four
// round trips, so 64 in flight keep the pool's connections busy for well over 100 sources a
// second at 50 ms per request, while memory, which grows with the sources held at once (their
// header bytes and tensor tables), stays the same from 64 sources to thousands (bench/BATCH.md).
inline constexpr size_t k_sources_in_flight = 64;

// Opens and builds each source, up to k_sources_in_flight (and --jobs) at once, their requests
// on one connection pool, and hands each result to `on_result` as it completes: one call at a
// time, in completion order, or in input order with `ordered`. Only results waiting for an
// earlier one are held, so memory does not grow with the number of sources.
void for_each_model(const std::vector<std::string>& specs, const CommonOptions& options,
                    const Environment& env, bool ordered,
                    const std::function<void(SourceResult&)>& on_result);

// Opens and builds each source, several at a time (--jobs), results in input order.
std::vector<Result<Model>> load_models(const std::vector<std::string>& specs,
                                       const CommonOptions& options, const Environment& env);

// What a batch of sources came to: counts per exit code, the slowest sources, requests. The
// exit code of the call is the highest per-source code.
class BatchSummary {
 public:
  void add(const SourceResult& r, int code);
  int exit_code() const { return m_worst; }
  // "mbuild: 500 sources in 4.2 s: 498 ok, 2 exit 4; 6,812 requests; slowest: ...".
  std::string text(double seconds) const;
  // {"summary": {"sources", "seconds", "exit_codes": {"0": n, ...}, "requests", "slowest": [...]}}.
  std::string json_line(double seconds) const;

 private:
  std::map<int, size_t> m_codes;
  std::vector<std::pair<double, std::string>> m_slowest;  // at most 3, slowest first
  uint64_t m_requests = 0;
  size_t m_sources = 0;
  int m_worst = 0;
};

// Prints "mbuild: error: <what>: <why>" on stderr.
void print_error(const Error& error);

// The exit code for running out of memory (std::bad_alloc, std::length_error), which main
// catches: no ErrorKind stands for it (README "Exit codes").
inline constexpr int k_exit_out_of_memory = 7;

// The process exit code for an error kind (README "Exit codes"): the only place kinds become
// codes.
int exit_code(ErrorKind kind);

// As build tools do, raises the soft descriptor limit to the hard one (a batch of sources holds
// sockets and files at once, and 1024 is a common default); returns the limit now, 0 if unknown.
unsigned raise_fd_limit();

// The process environment, set up by main before any command runs.
const Environment& environment();
void set_environment(Environment env);

}  // namespace mbuild::cli
