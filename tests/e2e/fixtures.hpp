// What the end-to-end tests share: running the mbuild binary, temporary folders, hand-written
// safetensors files, and the corpus with its truth.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/process.hpp"

namespace mbuild::e2e {

std::filesystem::path binary();
std::filesystem::path corpus_dir();
std::filesystem::path corpus_model(std::string_view folder);

// One entry of tests/data/corpus/truth.json (published counts, not mbuild's).
struct TruthEntry {
  std::string folder;
  std::string hf_id;
  uint64_t total_params = 0;
  uint64_t raw_elements = 0;
  uint64_t tensors = 0;
  uint64_t files = 0;
};
std::vector<TruthEntry> truth();
// truth.json's total_params for a corpus folder; throws when the folder has no entry.
uint64_t truth_total(std::string_view folder);

// The environment every run starts from: this process's, with no Hub variables, offline, and
// HF_HOME pointing at an empty folder so no token or cache of the machine is ever used.
ProcessEnvironment base_environment();

// Runs mbuild with `args` (argv[1..]) in base_environment(), optionally changed by the caller.
ProcessResult run_mbuild(const std::vector<std::string>& args);
ProcessResult run_mbuild(const std::vector<std::string>& args, const ProcessEnvironment& env,
                         const std::filesystem::path& cwd = {});

// run_mbuild with SpawnOptions: a working folder, a crash at a chosen moment, a file size limit.
ProcessResult run_mbuild_with(const std::vector<std::string>& args, const ProcessEnvironment& env,
                              const SpawnOptions& options);

// A fresh folder under the system temp folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::filesystem::path& child) const {
    return m_path / child;
  }

 private:
  std::filesystem::path m_path;
};

void write_file(const std::filesystem::path& path, std::string_view content);
std::string read_file(const std::filesystem::path& path);
// Names of the entries directly in `dir`, sorted.
std::vector<std::string> list_dir(const std::filesystem::path& dir);
std::vector<std::string> split_lines(std::string_view text);
// Control characters other than a final newline: a second line or a terminal escape.
bool has_control_characters(std::string_view text);

// Everything under `root`, by path relative to it with '/' separators: a regular file maps to
// its bytes, a folder to "<dir>", a symlink to "-> <target>" (never followed), anything else to
// "<special>". For "nothing else changed" checks: compare two calls.
std::map<std::string, std::string> read_tree(const std::filesystem::path& root);

// A tensor to lay out in a hand-written safetensors file.
struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
};

// The bytes of one dtype element ("F32" -> 4); 0 for dtypes this helper does not know.
uint64_t dtype_bytes(std::string_view dtype);

// A header laying the tensors out back to back in order (data_offsets computed).
nlohmann::ordered_json header_for(const std::vector<TensorSpec>& tensors);

// A safetensors file: the 8-byte little-endian header length, the header, then `data_bytes`
// zero bytes of data.
std::string safetensors_bytes(std::string_view header, uint64_t data_bytes = 0);
// As above with the data region sized to the last data_offsets end of the header.
std::string safetensors_file(const nlohmann::ordered_json& header);

// A tiny Llama whose parameter count is known by hand: vocab 8, hidden 4, 1 layer, 2 heads of
// dim 2, 1 kv head, ffn 8, untied lm_head. tiny_llama_total() is the sum of its shapes.
nlohmann::ordered_json tiny_llama_config();
std::vector<TensorSpec> tiny_llama_tensors();
constexpr uint64_t tiny_llama_total() {
  // embed 8*4 + (norm 4 + q 4*4 + k 2*4 + v 2*4 + o 4*4 + norm 4 + gate 8*4 + up 8*4 + down 4*8)
  // + final norm 4 + lm_head 8*4
  return 32 + (4 + 16 + 8 + 8 + 16 + 4 + 32 + 32 + 32) + 4 + 32;
}
// Writes config.json and model.safetensors of the tiny Llama into `dir`.
void write_tiny_llama(const std::filesystem::path& dir);

// Thousands separators as in the text output: 70553706496 -> "70,553,706,496".
std::string with_separators(uint64_t n);

}  // namespace mbuild::e2e
