#include "e2e/fixtures.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace mbuild::e2e {
namespace fs = std::filesystem;

namespace {

// Generous: a sanitizer build reading the 76k-tensor corpus model is far slower than release.
constexpr std::chrono::milliseconds k_run_timeout{180'000};

// The empty HF_HOME / XDG_CACHE_HOME every run sees, made once per test process.
const fs::path& isolated_home() {
  static const TempDir home;
  return home.path();
}

}  // namespace

fs::path binary() {
  // scripts/test runs these tests a second time against the sanitizer build's binary.
  if (const char* other = std::getenv("MBUILD_TEST_BINARY"); other != nullptr && *other != '\0') {
    return other;
  }
  return MBUILD_BINARY;
}
fs::path corpus_dir() {
  return fs::path(MBUILD_TEST_DATA) / "corpus";
}
fs::path corpus_model(std::string_view folder) {
  return corpus_dir() / folder;
}

std::vector<TruthEntry> truth() {
  const nlohmann::json doc = nlohmann::json::parse(read_file(corpus_dir() / "truth.json"));
  std::vector<TruthEntry> out;
  for (const auto& e : doc) {
    out.push_back({e.at("folder").get<std::string>(), e.at("hf_id").get<std::string>(),
                   e.at("total_params").get<uint64_t>(), e.at("raw_elements").get<uint64_t>(),
                   e.at("tensors").get<uint64_t>(), e.at("files").get<uint64_t>()});
  }
  return out;
}

uint64_t truth_total(std::string_view folder) {
  for (const TruthEntry& e : truth()) {
    if (e.folder == folder) {
      return e.total_params;
    }
  }
  throw std::runtime_error("no truth.json entry for " + std::string(folder));
}

ProcessEnvironment base_environment() {
  ProcessEnvironment env = ProcessEnvironment::inherit();
  env.unset_prefix("HF_")
      .unset_prefix("HUGGING")
      .unset("TRANSFORMERS_OFFLINE")
      .set("HF_HOME", isolated_home().string())
      .set("XDG_CACHE_HOME", (isolated_home() / "xdg").string())
      .set("HF_HUB_OFFLINE", "1")
      // Never reachable (discard port on loopback), should anything try the network anyway.
      .set("HF_ENDPOINT", "http://127.0.0.1:9")
      .set("NO_COLOR", "1");
  return env;
}

ProcessResult run_mbuild(const std::vector<std::string>& args) {
  return run_mbuild(args, base_environment());
}

ProcessResult run_mbuild(const std::vector<std::string>& args, const ProcessEnvironment& env,
                         const fs::path& cwd) {
  std::vector<std::string> argv{binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, env, k_run_timeout, cwd);
}

ProcessResult run_mbuild_with(const std::vector<std::string>& args, const ProcessEnvironment& env,
                              const SpawnOptions& options) {
  std::vector<std::string> argv{binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process_with(argv, env, k_run_timeout, options);
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "mbuild-e2e-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  m_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_control_characters(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && !(c == '\n' && i + 1 == text.size())) || c == 0x7f) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::map<std::string, std::string> read_tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string rel = entry.path().lexically_relative(root).generic_string();
    if (entry.is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(entry.path()).string();
    } else if (entry.is_directory()) {
      out[rel] = "<dir>";
    } else if (entry.is_regular_file()) {
      out[rel] = read_file(entry.path());
    } else {
      out[rel] = "<special>";
    }
  }
  return out;
}

uint64_t dtype_bytes(std::string_view dtype) {
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E4M3" ||
      dtype == "F8_E5M2") {
    return 1;
  }
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") {
    return 2;
  }
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") {
    return 4;
  }
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") {
    return 8;
  }
  return 0;
}

nlohmann::ordered_json header_for(const std::vector<TensorSpec>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    uint64_t bytes = dtype_bytes(t.dtype);
    for (uint64_t d : t.shape) {
      bytes *= d;
    }
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  return header;
}

std::string safetensors_bytes(std::string_view header, uint64_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((n >> (8 * i)) & 0xffU);
  }
  out += header;
  out.append(data_bytes, '\0');
  return out;
}

std::string safetensors_file(const nlohmann::ordered_json& header) {
  uint64_t end = 0;
  for (const auto& [name, info] : header.items()) {
    if (name != "__metadata__") {
      end = std::max(end, info.at("data_offsets").at(1).get<uint64_t>());
    }
  }
  return safetensors_bytes(header.dump(), end);
}

nlohmann::ordered_json tiny_llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", 4},
          {"intermediate_size", 8},
          {"num_hidden_layers", 1},
          {"num_attention_heads", 2},
          {"num_key_value_heads", 1},
          {"head_dim", 2},
          {"vocab_size", 8},
          {"max_position_embeddings", 16},
          {"rms_norm_eps", 1e-5},
          {"tie_word_embeddings", false},
          {"torch_dtype", "float32"}};
}

std::vector<TensorSpec> tiny_llama_tensors() {
  const std::string l = "model.layers.0.";
  return {{"model.embed_tokens.weight", "F32", {8, 4}},
          {l + "input_layernorm.weight", "F32", {4}},
          {l + "self_attn.q_proj.weight", "F32", {4, 4}},
          {l + "self_attn.k_proj.weight", "F32", {2, 4}},
          {l + "self_attn.v_proj.weight", "F32", {2, 4}},
          {l + "self_attn.o_proj.weight", "F32", {4, 4}},
          {l + "post_attention_layernorm.weight", "F32", {4}},
          {l + "mlp.gate_proj.weight", "F32", {8, 4}},
          {l + "mlp.up_proj.weight", "F32", {8, 4}},
          {l + "mlp.down_proj.weight", "F32", {4, 8}},
          {"model.norm.weight", "F32", {4}},
          {"lm_head.weight", "F32", {8, 4}}};
}

void write_tiny_llama(const fs::path& dir) {
  write_file(dir / "config.json", tiny_llama_config().dump(2) + "\n");
  write_file(dir / "model.safetensors", safetensors_file(header_for(tiny_llama_tensors())));
}

std::string with_separators(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

}  // namespace mbuild::e2e
