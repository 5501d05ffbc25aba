// Layer-pattern compression and the choice of per-layer kinds to show.
#include "analysis/layer_pattern.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace mbuild;

namespace {

// `count` layers where layer i is `full` when (i + 1) % period == 0, else `other`.
std::vector<std::string> every_nth(size_t count, size_t period, const std::string& other,
                                   const std::string& full) {
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back((i + 1) % period == 0 ? full : other);
  }
  return out;
}

std::vector<std::string> repeat(size_t count, const std::string& kind) {
  return std::vector<std::string>(count, kind);
}

}  // namespace

TEST_CASE("Qwen3-Next's pattern is three linear-attention layers then one full, 12 times") {
  auto kinds = every_nth(48, 4, "linear_attention", "full_attention");
  CHECK(compress_layer_pattern(kinds) == "(linear_attention ×3, full_attention) ×12");
}

TEST_CASE("gemma-2's pattern alternates sliding and full attention 21 times") {
  auto kinds = every_nth(42, 2, "sliding_attention", "full_attention");
  CHECK(compress_layer_pattern(kinds) == "(sliding_attention, full_attention) ×21");
}

TEST_CASE("gemma-3's pattern ends with the remainder after the last full period") {
  // gemma-3-1b: 26 layers, every 6th global: four periods of 6, then 2 sliding layers.
  auto kinds = every_nth(26, 6, "sliding_attention", "full_attention");
  CHECK(compress_layer_pattern(kinds) ==
        "(sliding_attention ×5, full_attention) ×4, sliding_attention ×2");
  // gemma-3-4b: 34 layers: five periods, then 4 sliding.
  CHECK(compress_layer_pattern(every_nth(34, 6, "sliding_attention", "full_attention")) ==
        "(sliding_attention ×5, full_attention) ×5, sliding_attention ×4");
}

TEST_CASE("DeepSeek-V2-Lite's pattern is one dense layer then 26 MoE layers") {
  std::vector<std::string> kinds = {"dense"};
  auto moe = repeat(26, "moe");
  kinds.insert(kinds.end(), moe.begin(), moe.end());
  CHECK(compress_layer_pattern(kinds) == "dense, moe ×26");
  // DeepSeek-V3: first_k_dense_replace 3 of 61.
  std::vector<std::string> v3 = repeat(3, "dense");
  auto moe58 = repeat(58, "moe");
  v3.insert(v3.end(), moe58.begin(), moe58.end());
  CHECK(compress_layer_pattern(v3) == "dense ×3, moe ×58");
}

TEST_CASE("gpt-oss's pattern alternates sliding and full attention") {
  // openai/gpt-oss-20b layer_types: 24 layers, sliding first.
  auto kinds = every_nth(24, 2, "sliding_attention", "full_attention");
  CHECK(compress_layer_pattern(kinds) == "(sliding_attention, full_attention) ×12");
}

TEST_CASE("Llama 4 Maverick's pattern interleaves dense and MoE layers") {
  // interleave_moe_layer_step 2 over 48 layers: MoE at odd indices.
  auto kinds = every_nth(48, 2, "dense", "moe");
  CHECK(compress_layer_pattern(kinds) == "(dense, moe) ×24");
}

TEST_CASE("Jamba's pattern is a period of 8 with combined attention/mlp kinds") {
  // Jamba-v0.1: 32 layers; attention at i % 8 == 4 (else Mamba), MoE at i % 2 == 1.
  std::vector<std::string> attention, mlp;
  for (size_t i = 0; i < 32; ++i) {
    attention.emplace_back(i % 8 == 4 ? "full_attention" : "mamba");
    mlp.emplace_back(i % 2 == 1 ? "moe" : "dense");
  }
  auto kinds = layer_kinds(attention, mlp);
  REQUIRE(kinds.size() == 32);
  CHECK(kinds[4] == "full_attention+dense");
  CHECK(kinds[5] == "mamba+moe");
  CHECK(compress_layer_pattern(kinds) ==
        "(mamba+dense, mamba+moe, mamba+dense, mamba+moe, full_attention+dense, mamba+moe, "
        "mamba+dense, mamba+moe) ×4");
}

TEST_CASE("a uniform model's pattern is one run") {
  CHECK(compress_layer_pattern(repeat(80, "full_attention")) == "full_attention ×80");
  CHECK(compress_layer_pattern(repeat(1, "full_attention")) == "full_attention");
  CHECK(compress_layer_pattern({}).empty());
}

TEST_CASE("a pattern without repetition lists its runs") {
  CHECK(compress_layer_pattern({"a", "b", "b", "c"}) == "a, b ×2, c");
}

TEST_CASE("layer_kinds shows attention kinds when only they vary") {
  auto attention = every_nth(4, 2, "sliding_attention", "full_attention");
  CHECK(layer_kinds(attention, repeat(4, "dense")) == attention);
}

TEST_CASE("layer_kinds shows MLP kinds when only they vary") {
  auto mlp = every_nth(4, 2, "dense", "moe");
  CHECK(layer_kinds(repeat(4, "full_attention"), mlp) == mlp);
}

TEST_CASE("layer_kinds shows mixer+mlp pairs when both vary") {
  CHECK(layer_kinds({"linear_attention", "full_attention"}, {"dense", "moe"}) ==
        std::vector<std::string>{"linear_attention+dense", "full_attention+moe"});
}

TEST_CASE("layer_kinds ignores MLP kinds of another length") {
  auto attention = every_nth(4, 2, "sliding_attention", "full_attention");
  CHECK(layer_kinds(attention, {"dense", "moe"}) == attention);
}
