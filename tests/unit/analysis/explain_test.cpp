// The architecture explanation: attention kind and KV saving, FFN, norm, position, scaling.
#include "mbuild/analysis/explain.hpp"

#include <cmath>
#include <numbers>

#include <catch2/catch.hpp>

#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

Model corpus_model(const std::string& folder) {
  LocalFolderSource source(test::corpus_dir() / folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  REQUIRE(built);
  return std::move(*built);
}

ArchitectureExplanation explain(const std::string& folder) {
  Model m = corpus_model(folder);
  const ParamCount params = count_params(m);
  return explain_architecture(m, params, params.total);
}

}  // namespace

TEST_CASE("Llama-3.3-70B is GQA with SwiGLU, RMSNorm and scaled RoPE") {
  ArchitectureExplanation e = explain("meta-llama__Llama-3.3-70B-Instruct");
  CHECK(e.attention.kind == "GQA");
  CHECK(e.attention.heads == 64);
  CHECK(e.attention.kv_heads == 8);
  // At 4,096 tokens: 80 layers x 2 x 8 kv heads x 128 x 2 bytes x 4,096 = 1,342,177,280 bytes;
  // MHA keeps 64 heads: 10,737,418,240. GQA saves 1 - 8/64 = 87.5 %.
  CHECK(e.attention.kv_bytes == 1'342'177'280ULL);
  CHECK(e.attention.mha_bytes == 10'737'418'240ULL);
  CHECK(e.attention.saving == Approx(0.875));
  CHECK(e.ffn.kind == "SwiGLU");
  CHECK(e.ffn.gated);
  CHECK(e.ffn.expansion == Approx(3.5));  // 28,672 / 8,192
  CHECK(e.norm.kind == "RMSNorm");
  CHECK(e.norm.eps == Approx(1e-5));
  CHECK(e.position.kind == "RoPE");
  CHECK(e.position.rope_theta == Approx(500000.0));
  CHECK(e.position.wavelength == Approx(2 * std::numbers::pi * 500000.0));  // 3,141,592.65
  CHECK(e.position.scaling == "llama3");
  CHECK(e.position.scaling_factor == Approx(8.0));
  // Chinchilla: D = 20 x 70,553,706,496 = 1,411,074,129,920 tokens; 6·N·D = 120·N².
  const double n = 70'553'706'496.0;
  CHECK(e.scaling.params == 70'553'706'496ULL);
  CHECK(e.scaling.chinchilla_tokens == Approx(1'411'074'129'920.0));
  CHECK(e.scaling.training_flops == Approx(120.0 * n * n));
  CHECK(e.scaling.training_flops == Approx(5.973e23).epsilon(0.001));
  REQUIRE(e.formats.size() == 10);
  CHECK(e.formats[1].format == "BF16");
  CHECK(e.formats[1].bytes == 2 * 70'553'706'496ULL);
}

TEST_CASE("GPT-2 is MHA with a GELU MLP, LayerNorm and learned positions") {
  ArchitectureExplanation e = explain("openai-community__gpt2");
  CHECK(e.attention.kind == "MHA");
  CHECK(e.attention.saving == Approx(0.0));
  CHECK(e.ffn.kind == "GELU MLP");
  CHECK(e.ffn.expansion == Approx(4.0));  // n_inner null: 4 x 768
  CHECK(e.norm.kind == "LayerNorm");
  CHECK(e.position.kind == "learned absolute");
  CHECK_FALSE(e.position.wavelength);
}

TEST_CASE("DeepSeek-V2-Lite is MLA with routed experts") {
  ArchitectureExplanation e = explain("deepseek-ai__DeepSeek-V2-Lite");
  CHECK(e.attention.kind == "MLA");
  CHECK(e.attention.mla_layers == 27);
  // MLA caches 512 + 64 = 576 elements per layer-token; MHA would cache 16 heads x (K 128 + 64,
  // V 128) = 5,120: 1 - 576 / 5,120 = 88.75 % saved.
  CHECK(e.attention.saving == Approx(0.8875));
  CHECK(e.ffn.experts == 64);
  CHECK(e.ffn.top_k == 6);
  CHECK(e.ffn.expert_intermediate == 1408);
  CHECK(e.ffn.moe_layers == 26);  // first_k_dense_replace 1
  CHECK(e.ffn.dense_layers == 1);
}

TEST_CASE("Gemma-2 mixes sliding-window and full layers and gates with GELU") {
  ArchitectureExplanation e = explain("google__gemma-2-9b");
  CHECK(e.attention.kind == "GQA");
  CHECK(e.attention.sliding_layers == 21);
  CHECK(e.attention.full_layers == 21);
  CHECK(e.attention.sliding_window == 4096U);
  CHECK(e.ffn.kind == "GeGLU");
}

TEST_CASE("Qwen3-Next is hybrid: gated delta-net state beside GQA") {
  ArchitectureExplanation e = explain("Qwen__Qwen3-Next-80B-A3B-Thinking");
  CHECK(e.attention.kind == "GQA");
  CHECK(e.attention.full_layers == 12);
  CHECK(e.attention.state_layers == 36);
  CHECK(e.attention.state_kind.find("delta-net") != std::string::npos);
  CHECK(e.attention.state_bytes == 39'518'208U);  // see memory_test
  CHECK(e.scaling.active.has_value());
}

TEST_CASE("Mamba has no attention, no FFN block and no positional encoding") {
  ArchitectureExplanation e = explain("state-spaces__mamba-130m-hf");
  CHECK(e.attention.kind == "none");
  CHECK(e.attention.state_layers == 24);
  CHECK(e.ffn.kind == "none");
  CHECK(e.norm.kind == "RMSNorm");
  CHECK(e.position.kind == "none");
}

TEST_CASE("BERT is a bidirectional encoder with LayerNorm") {
  ArchitectureExplanation e = explain("google-bert__bert-base-uncased");
  CHECK(e.attention.kind == "bidirectional MHA");
  CHECK_FALSE(e.attention.kv_bytes);
  CHECK(e.norm.kind == "LayerNorm");
  CHECK(e.position.kind == "learned absolute");
}

TEST_CASE("T5 uses relative position buckets and a gated GELU") {
  ArchitectureExplanation e = explain("google__flan-t5-large");
  CHECK(e.position.kind == "relative (T5 buckets)");
  CHECK(e.ffn.kind == "GeGLU");
  CHECK(e.norm.kind == "RMSNorm");
}

TEST_CASE("a RoPE config without a base assumes 10000") {
  Model m;
  auto cfg = parse_model_config("config.json", R"({"model_type":"llama","hidden_size":64,
    "num_attention_heads":4,"num_hidden_layers":2,"intermediate_size":128,"vocab_size":10})");
  REQUIRE(cfg);
  m.config = std::move(*cfg);
  ArchitectureExplanation e = explain_architecture(m, count_params(m), 0);
  CHECK(e.position.kind == "RoPE");
  CHECK(e.position.theta_assumed);
  CHECK(e.position.wavelength == Approx(2 * std::numbers::pi * 10000.0));
  CHECK(e.ffn.kind == "SwiGLU");  // llama without tensors: the family is gated
  CHECK(e.ffn.expansion == Approx(2.0));
}
