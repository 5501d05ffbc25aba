// GGUF sources through the binary: a .gguf file, a folder of quantizations, a split set, and
// malformed headers (exit 3, one line naming the file).
#include <functional>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"
#include "gguf_writer.hpp"

namespace mbuild::e2e {
namespace {

namespace fs = std::filesystem;

// A tiny llama in GGUF: 2 layers, hidden 256, vocab 1000, Q8_0 matrices, F32 norms.
test::GgufWriter tiny_gguf(test::GgufTestType matrices = test::k_q8_0) {
  test::GgufWriter w;
  w.str("general.architecture", "llama");
  w.u32("llama.block_count", 2);
  w.u32("llama.embedding_length", 256);
  w.u32("llama.attention.head_count", 4);
  w.u32("llama.attention.head_count_kv", 2);
  w.u32("llama.feed_forward_length", 512);
  w.u32("llama.context_length", 2048);
  w.string_array("tokenizer.ggml.tokens", 1000);
  w.tensor("token_embd.weight", {256, 1000}, matrices);
  for (int i = 0; i < 2; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    w.tensor(b + "attn_norm.weight", {256}, test::k_f32);
    w.tensor(b + "attn_q.weight", {256, 256}, matrices);
    w.tensor(b + "attn_k.weight", {256, 128}, matrices);
    w.tensor(b + "attn_v.weight", {256, 128}, matrices);
    w.tensor(b + "attn_output.weight", {256, 256}, matrices);
    w.tensor(b + "ffn_norm.weight", {256}, test::k_f32);
    w.tensor(b + "ffn_gate.weight", {256, 512}, matrices);
    w.tensor(b + "ffn_up.weight", {256, 512}, matrices);
    w.tensor(b + "ffn_down.weight", {512, 256}, matrices);
  }
  w.tensor("output_norm.weight", {256}, test::k_f32);
  return w;
}
// By hand: embedding 256,000 (tied) + 2 x (q 65,536 + k, v 32,768 each + o 65,536 + 3 x
// 131,072 + norms 512) + 256.
constexpr uint64_t k_tiny_total =
    256'000 + 2 * (65'536 + 2 * 32'768 + 65'536 + 3 * 131'072 + 512) + 256;

void check_one_error_line(const ProcessResult& run, int exit_code, std::string_view names) {
  INFO("stdout: " << run.out);
  INFO("stderr: " << run.err);
  REQUIRE_FALSE(run.timed_out);
  CHECK(run.exit_code == exit_code);
  CHECK(run.out.empty());
  const std::vector<std::string> lines = split_lines(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("mbuild: error: "));
  CHECK(lines[0].find(names) != std::string::npos);
}

TEST_CASE("a local .gguf file is inspected from its header", "[gguf]") {
  TempDir dir;
  const test::GgufWriter w = test::llama3_8b_q4_k_m();
  write_file(dir / "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf", w.header());
  const ProcessResult run = run_mbuild(
      {"inspect", (dir / "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf").string(), "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  // meta-llama/Meta-Llama-3-8B: 8,030,261,248 params.
  CHECK(doc["params"]["total"] == 8'030'261'248ULL);
  CHECK(doc["params"]["by_dtype"]["Q4_K"] == 6'498'025'472ULL);
  CHECK(doc["params"]["stored_bytes_by_dtype"]["Q6_K"] == 1'256'693'760ULL);
  CHECK(doc["config"]["num_layers"] == 32);
  CHECK(doc["files"][0]["tensors"] == 291);
  CHECK(doc["gguf"]["version"] == 3);
  CHECK(doc["gguf"]["alignment"] == 32);
  CHECK(doc["gguf"]["data_bytes"] == 4'912'898'048ULL);
  CHECK(doc["gguf"]["metadata"]["general.architecture"] == "llama");
  CHECK(doc["gguf"]["metadata"]["llama.block_count"] == 32);
  CHECK(doc["gguf"]["metadata"]["tokenizer.ggml.tokens"] ==
        nlohmann::json({{"type", "string"}, {"length", 128256}}));

  const ProcessResult text =
      run_mbuild({"inspect", (dir / "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf").string()});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("GGUF v3") != std::string::npos);
  CHECK(text.out.find("8,030,261,248") != std::string::npos);
}

TEST_CASE("a folder with one GGUF file is inspected", "[gguf]") {
  TempDir dir;
  write_file(dir / "tiny-Q8_0.gguf", tiny_gguf().header());
  const ProcessResult run = run_mbuild({"inspect", dir.path().string(), "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  CHECK(doc["params"]["total"] == k_tiny_total);
  CHECK(doc["params"]["tied_embeddings"] == true);
  CHECK(doc["other_weights"].empty());
}

TEST_CASE("a folder of several quantizations lists them, and --file or :TAG picks one", "[gguf]") {
  TempDir dir;
  write_file(dir / "tiny-Q8_0.gguf", tiny_gguf(test::k_q8_0).header());
  write_file(dir / "tiny-F16.gguf", tiny_gguf(test::k_f16).header());
  const ProcessResult listed = run_mbuild({"inspect", dir.path().string()});
  check_one_error_line(listed, 2, "tiny-Q8_0");
  // Each with its type mix by bytes: Q8_0 matrices with F32 norms, F16 matrices likewise.
  CHECK(listed.err.find("tiny-Q8_0 (1 file(s), ") != std::string::npos);
  CHECK(listed.err.find(" Q8_0 99% F32 0%") != std::string::npos);
  CHECK(listed.err.find(" F16 ") != std::string::npos);

  const ProcessResult picked =
      run_mbuild({"inspect", dir.path().string(), "--file", "q8_0", "--format", "json"});
  INFO("stderr: " << picked.err);
  REQUIRE(picked.exit_code == 0);
  nlohmann::json doc = nlohmann::json::parse(picked.out);
  CHECK(doc["files"][0]["name"] == "tiny-Q8_0.gguf");
  CHECK(doc["params"]["by_dtype"].contains("Q8_0"));

  const ProcessResult tagged =
      run_mbuild({"inspect", dir.path().string() + ":F16", "--format", "json"});
  REQUIRE(tagged.exit_code == 0);
  doc = nlohmann::json::parse(tagged.out);
  CHECK(doc["files"][0]["name"] == "tiny-F16.gguf");
  CHECK(doc["params"]["total"] == k_tiny_total);

  check_one_error_line(run_mbuild({"inspect", dir.path().string(), "--file", "Q2_K"}), 4, "Q2_K");
}

TEST_CASE("one part of a split GGUF reads the whole set", "[gguf]") {
  TempDir dir;
  test::GgufWriter first, second;
  first.str("general.architecture", "llama");
  first.u32("llama.block_count", 1);
  first.u32("llama.embedding_length", 256);
  first.u32("llama.attention.head_count", 2);
  first.u32("llama.vocab_size", 1000);
  first.u32("split.count", 2);
  first.tensor("token_embd.weight", {256, 1000}, test::k_f16);
  second.u32("split.count", 2);
  second.tensor("blk.0.attn_q.weight", {256, 256}, test::k_q8_0);
  write_file(dir / "m-00001-of-00002.gguf", first.header());
  write_file(dir / "m-00002-of-00002.gguf", second.header());
  const ProcessResult run =
      run_mbuild({"inspect", (dir / "m-00001-of-00002.gguf").string(), "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  CHECK(doc["files"].size() == 2);
  CHECK(doc["params"]["total"] == 256'000 + 65'536);
  CHECK(doc["model"]["id"] == "m");
}

TEST_CASE("a folder with GGUF files and safetensors counts the safetensors", "[gguf]") {
  TempDir dir;
  write_tiny_llama(dir.path());
  write_file(dir / "tiny-Q8_0.gguf", tiny_gguf().header());
  const ProcessResult run = run_mbuild({"inspect", dir.path().string(), "--format", "json"});
  REQUIRE(run.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  CHECK(doc["params"]["total"] == tiny_llama_total());
  CHECK(doc["other_weights"] == nlohmann::json::array({"tiny-Q8_0.gguf"}));
}

struct GgufFault {
  std::string name;
  std::string fault;  // a word the one error line must hold
  std::function<std::string()> bytes;
};

std::vector<GgufFault> gguf_faults() {
  return {
      {"truncated header", "truncated",
       [] {
         std::string b = tiny_gguf().header();
         b.resize(b.size() - 100);  // inside the tensor infos
         return b;
       }},
      {"bad magic", "model.gguf",
       [] {
         std::string b = tiny_gguf().header();
         b[3] = 'X';
         return b;
       }},
      {"a tensor count the file cannot hold", "tensor count",
       [] {
         std::string b = tiny_gguf().header();
         b[8 + 5] = '\x7f';  // tensor count ~2^40
         return b;
       }},
      {"absurd array length", "tokenizer.ggml.tokens",
       [] {
         test::GgufWriter w;
         std::string kv;
         const std::string key = "tokenizer.ggml.tokens";
         const uint64_t n = key.size();
         const uint32_t array = 9, string = 8;
         const uint64_t length = uint64_t{1} << 50;
         kv.append(reinterpret_cast<const char*>(&n), 8);
         kv += key;
         kv.append(reinterpret_cast<const char*>(&array), 4);
         kv.append(reinterpret_cast<const char*>(&string), 4);
         kv.append(reinterpret_cast<const char*>(&length), 8);
         w.raw_kv(kv, 1);
         return w.header();
       }},
      {"unknown type id", "unknown ggml type id 99",
       [] {
         test::GgufWriter w;
         w.str("general.architecture", "llama");
         w.tensor_at("blk.0.attn_q.weight", {256, 256}, 99, 0);
         return w.header();
       }},
      {"misaligned offset", "alignment",
       [] {
         test::GgufWriter w;
         w.str("general.architecture", "llama");
         w.tensor_at("a.weight", {8}, 0, 0);
         w.tensor_at("b.weight", {8}, 0, 33);
         return w.header();
       }},
      {"overlapping tensors", "overlaps",
       [] {
         test::GgufWriter w;
         w.str("general.architecture", "llama");
         w.tensor_at("a.weight", {64}, 0, 0);
         w.tensor_at("b.weight", {64}, 0, 64);
         return w.header();
       }},
  };
}

TEST_CASE("a malformed GGUF exits 3 with one line naming the file", "[gguf][bad-input]") {
  const GgufFault fault = GENERATE(from_range(gguf_faults()));
  const std::string read_as = GENERATE(as<std::string>{}, "file", "folder");
  INFO("fault: " << fault.name << " (" << read_as << ")");
  TempDir dir;
  write_file(dir / "model.gguf", fault.bytes());
  const ProcessResult run = run_mbuild(
      {"inspect", read_as == "file" ? (dir / "model.gguf").string() : dir.path().string()});
  check_one_error_line(run, 3, "model.gguf");
  CHECK(run.err.find(fault.fault) != std::string::npos);
}

}  // namespace
}  // namespace mbuild::e2e
