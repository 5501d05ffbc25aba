// The variant shape block and its invariants, on the MLX 4-bit Qwen3.5 / Qwen3.6 test models
// (tests/data/synthetic: built from the dims seed 003 publishes, not replicas).
#include <catch2/catch.hpp>

#include "mbuild/analysis/variant.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

struct Loaded {
  Model model;
  ParamCount params;
};

Loaded load(const std::string& folder) {
  LocalFolderSource source(test::data_dir() / "synthetic" / folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  REQUIRE(built);
  Loaded l{std::move(*built), {}};
  l.params = count_params(l.model);
  return l;
}

std::optional<double> field(const VariantReport& r, std::string_view name) {
  for (const auto& [n, v] : r.fields) {
    if (n == name) {
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("Qwen3.6-35B-A3B and Qwen3.5-397B-A17B MLX 4-bit: every invariant holds") {
  // Expert bytes from seed 003's layout: 3 x (I*H*4/8 + 2 * I*(H/64)*2).
  //   35B-A3B:   I 512,  H 2048 -> 3 x (524288 + 65536)   = 1769472
  //   397B-A17B: I 1024, H 4096 -> 3 x (2097152 + 262144) = 7077888
  for (const auto& [folder, bytes, conv] : std::vector<std::tuple<std::string, double, double>>{
           {"mlx-community__Qwen3.6-35B-A3B-4bit", 1769472, 2 * 16 * 128 + 32 * 128},
           {"mlx-community__Qwen3.5-397B-A17B-4bit", 7077888, 2 * 16 * 128 + 64 * 128}}) {
    DYNAMIC_SECTION(folder) {
      const Loaded l = load(folder);
      const VariantReport r = variant_report(l.model, l.params);
      CHECK(r.invariants.size() == 7);
      for (const Invariant& inv : r.invariants) {
        INFO(inv.name << ": " << inv.detail);
        CHECK(inv.holds);
      }
      CHECK(field(r, "expert_bytes") == bytes);
      CHECK(field(r, "linear_conv_dim") == conv);
      CHECK(field(r, "rotary_dim") == 64);
      CHECK(field(r, "quant_bits") == 4);
      CHECK(field(r, "quant_group_size") == 64);
      CHECK(field(r, "full_attention_interval") == 4);
    }
  }
}

TEST_CASE("a broken variant invariant is reported with its numbers") {
  Loaded l = load("mlx-community__Qwen3.6-35B-A3B-4bit");
  SECTION("top_k above the expert count") {
    l.model.config->top_k = 300;
    const VariantReport r = variant_report(l.model, l.params);
    REQUIRE(r.invariants.size() > 1);
    CHECK(r.invariants[1].name == "top_k <= experts");
    CHECK(!r.invariants[1].holds);
  }
  SECTION("an expert width the tensors do not hold") {
    l.model.config->moe_intermediate_size = 768;
    const VariantReport r = variant_report(l.model, l.params);
    CHECK(!r.invariants.back().holds);
    CHECK(r.invariants.back().detail.find("expected 2654208") != std::string::npos);
  }
  SECTION("heads not divisible by kv heads") {
    l.model.config->num_kv_heads = 3;
    const VariantReport r = variant_report(l.model, l.params);
    CHECK(!r.invariants[2].holds);
  }
}
