// GGUF models counted like safetensors ones: the config from the metadata, params per ggml type
// and per component, MoE active params, split files.
#include <catch2/catch.hpp>

#include "gguf_writer.hpp"
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {
namespace {

WeightFile weight_file(std::string name, const test::GgufWriter& w) {
  const std::string header = w.header();
  return WeightFile{std::move(name), header.size() + w.data_bytes(), ByteBuffer::copy_of(header)};
}

Model model_of(std::vector<WeightFile> files) {
  Snapshot snap;
  snap.ref.id = "test";
  snap.files = std::move(files);
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  return std::move(*model);
}

TEST_CASE("gguf count: Llama-3-8B Q4_K_M has the published 8,030,261,248 params") {
  std::vector<WeightFile> files;
  files.push_back(weight_file("Meta-Llama-3-8B-Instruct-Q4_K_M.gguf", test::llama3_8b_q4_k_m()));
  const Model model = model_of(std::move(files));
  REQUIRE(model.config);
  CHECK(model.config->model_type == "llama");
  CHECK(model.config->num_layers == 32);
  CHECK(model.config->hidden_size == 4096);
  CHECK(model.config->num_kv_heads == 8);
  CHECK(model.config->vocab_size == 128256);  // the token list's length
  CHECK(model.config->tie_word_embeddings == false);
  const Analysis a = analyze(model, {});
  // meta-llama/Meta-Llama-3-8B model card: 8,030,261,248 (the Hub's safetensors count).
  CHECK(a.params.total == 8'030'261'248);
  CHECK(a.params.by_dtype.at("Q4_K") == 6'498'025'472);
  CHECK(a.params.by_dtype.at("Q6_K") == 1'531'969'536);
  CHECK(a.params.by_dtype.at("F32") == 266'240);
  CHECK(a.params.stored_bytes_by_dtype.at("Q4_K") == 3'655'139'328);
  CHECK(a.params.stored_bytes == 4'912'898'048);
  // By component: embedding and head 128256 x 4096 each; attention 32 x 41,943,040.
  CHECK(a.params.by_component[static_cast<size_t>(Component::embedding)] == 525'336'576);
  CHECK(a.params.by_component[static_cast<size_t>(Component::lm_head)] == 525'336'576);
  CHECK(a.params.by_component[static_cast<size_t>(Component::attention)] == 32 * 41'943'040ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::mlp)] == 32 * 176'160'768ULL);
  CHECK(a.params.by_component[static_cast<size_t>(Component::norms)] == 33 * 4096 + 32 * 4096);
  // The analytic count from the GGUF-derived config agrees.
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 8'030'261'248);
  // KV cache: 32 layers x 2 x 8 heads x 128 x 2 bytes = 131,072 per token.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 131'072);
  REQUIRE(model.gguf_file());
  CHECK(model.gguf_file()->gguf->version == 3);
}

TEST_CASE("gguf count: Qwen3-30B-A3B Q4_K_M, 3-D expert tensors, active params") {
  std::vector<WeightFile> files;
  files.push_back(weight_file("Qwen3-30B-A3B-Q4_K_M.gguf", test::qwen3_30b_a3b_q4_k_m()));
  const Model model = model_of(std::move(files));
  REQUIRE(model.config);
  CHECK(model.config->model_type == "qwen3_moe");
  CHECK(model.config->num_experts == 128);
  CHECK(model.config->top_k == 8);
  CHECK(model.config->head_dim == 128);
  const Analysis a = analyze(model, {});
  // Qwen/Qwen3-30B-A3B on the Hub: 30,532,122,624 params.
  CHECK(a.params.total == 30'532'122'624);
  // By hand: Q4_K 25,351,159,808 weights x 144/256; Q6_K 5,168,168,960 x 210/256; F32
  // 12,793,856 x 4 (norms and the 48 routers).
  CHECK(a.params.stored_bytes_by_dtype.at("Q4_K") == 14'260'027'392);
  CHECK(a.params.stored_bytes_by_dtype.at("Q6_K") == 4'239'513'600);
  CHECK(a.params.stored_bytes_by_dtype.at("F32") == 51'175'424);
  CHECK(a.params.stored_bytes == 18'550'716'416);
  // Routed experts: 48 layers x 128 x 3 x 2048 x 768.
  CHECK(a.params.by_component[static_cast<size_t>(Component::moe_experts)] == 28'991'029'248);
  CHECK(a.params.by_component[static_cast<size_t>(Component::router)] == 48 * 262'144);
  // Active: everything else (1,541,093,376) + 8/128 of the experts (1,811,939,328).
  REQUIRE(a.params.active);
  CHECK(*a.params.active == 3'353'032'704);
}

TEST_CASE("gguf count: a split model reads as one and its split.* keys are checked") {
  // gguf-split: the first part holds the metadata and split.{no,count,tensors.count}; each part
  // its own tensors, offsets from its own data start.
  test::GgufWriter first, second;
  first.str("general.architecture", "llama");
  first.u32("llama.block_count", 2);
  first.u32("llama.embedding_length", 256);
  first.u32("llama.attention.head_count", 2);
  first.u32("llama.attention.head_count_kv", 2);
  first.u32("llama.feed_forward_length", 512);
  first.u32("llama.vocab_size", 1000);
  first.u32("split.count", 2);
  first.u32("split.tensors.count", 5);
  first.tensor("token_embd.weight", {256, 1000}, test::k_f16);
  first.tensor("blk.0.attn_q.weight", {256, 256}, test::k_q8_0);
  first.tensor("blk.0.attn_norm.weight", {256}, test::k_f32);
  second.u32("split.no", 1);
  second.u32("split.count", 2);
  second.tensor("blk.1.attn_q.weight", {256, 256}, test::k_q8_0);
  second.tensor("output_norm.weight", {256}, test::k_f32);
  std::vector<WeightFile> files;
  files.push_back(weight_file("m-00002-of-00002.gguf", second));
  files.push_back(weight_file("m-00001-of-00002.gguf", first));
  const Model model = model_of(std::move(files));
  REQUIRE(model.files.size() == 2);
  CHECK(model.files[0].name == "m-00001-of-00002.gguf");
  CHECK(model.tensors.size() == 5);
  REQUIRE(model.config);
  CHECK(model.config->tie_word_embeddings == true);  // no output.weight
  const Analysis a = analyze(model, {});
  CHECK(a.params.total == 256'000 + 2 * 65'536 + 256 + 256);
  for (const Finding& f : model.findings) {
    CHECK_FALSE(f.text.starts_with("split."));
  }
}

TEST_CASE("gguf count: a split set missing a part is a warning") {
  test::GgufWriter first;
  first.str("general.architecture", "llama");
  first.u32("split.count", 3);
  first.tensor("token_embd.weight", {64, 10}, test::k_f32);
  std::vector<WeightFile> files;
  files.push_back(weight_file("m-00001-of-00003.gguf", first));
  const Model model = model_of(std::move(files));
  bool warned = false;
  for (const Finding& f : model.findings) {
    warned = warned || f.text.starts_with("split.count is 3");
  }
  CHECK(warned);
}

TEST_CASE("gguf count: metadata without general.architecture is bad input") {
  test::GgufWriter w;
  w.tensor("a.weight", {64}, test::k_f32);
  Snapshot snap;
  snap.files.push_back(weight_file("x.gguf", w));
  auto model = build_model(std::move(snap));
  REQUIRE_FALSE(model);
  CHECK(model.error().kind == ErrorKind::bad_input);
  CHECK_THAT(model.error().why, Catch::Contains("general.architecture"));
}

}  // namespace
}  // namespace mbuild
