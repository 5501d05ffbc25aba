// The Kimi families: Kimi K2 (DeepSeek-V3 layout under model_type kimi_k2, FP8 and INT4
// checkpoints) and Kimi Linear (KDA linear attention between MLA layers).
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/compliance.hpp"

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "mbuild/report/layer_checks.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"
#include "unit/analysis/model_at.hpp"

using namespace mbuild;

namespace {

using test::config_only_at;
using test::model_at;

const std::filesystem::path k_kimi_linear =
    test::data_dir() / "synthetic/moonshotai__Kimi-Linear-48B-A3B-Instruct";
const std::string k_kimi_linear_pattern =
    "linear_attention+dense, (linear_attention+moe ×2, full_attention+moe, "
    "linear_attention+moe) ×6, linear_attention+moe, full_attention+moe";

}  // namespace

// moonshotai/Kimi-Linear-48B-A3B-Instruct. Published total 49,122,681,728: the Hub's
// safetensors total (HF API safetensors.total and the index's metadata.total_parameters, as
// quoted by public model reports; also llama.cpp's params for its GGUF). By hand, hidden 2,304:
//   embedding + lm_head 2 x 163,840 x 2,304 = 754,974,720; final norm 2,304;
//   KDA layer (32 heads x 128 = 4,096 wide): q/k/v 3 x 2,304 x 4,096 = 28,311,552, convs
//     3 x 4,096 x 4 = 49,152, A_log 32, f_a + f_b 2,304 x 128 + 128 x 4,096 = 819,200,
//     dt_bias 4,096, b_proj 2,304 x 32 = 73,728, g_a + g_b 819,200, o_norm 128,
//     o_proj 4,096 x 2,304 = 9,437,184 -> 39,514,272 x 20 = 790,285,440;
//   MLA layer (q_lora_rank null): q_proj 2,304 x 32 x 192 = 14,155,776, kv_a 2,304 x 576
//     = 1,327,104, kv_a_layernorm 512, kv_b 512 x 32 x 256 = 4,194,304, o_proj 32 x 128 x
//     2,304 = 9,437,184 -> 29,114,880 x 7 = 203,804,160;
//   layer 0 MLP 3 x 2,304 x 9,216 = 63,700,992;
//   MoE layer: 256 experts x 3 x 2,304 x 1,024 = 1,811,939,328, shared 3 x 2,304 x 1,024
//     = 7,077,888, router 256 x 2,304 + 256 bias = 590,080 -> 1,819,607,296 x 26
//     = 47,309,789,696;
//   layer norms 27 x 2 x 2,304 = 124,416.
//   Total 49,122,681,728.
TEST_CASE("Kimi Linear: KDA and MLA layers, the total exact from the headers and the config") {
  const Model m = model_at(k_kimi_linear);
  const Analysis a = analyze(m, {.context = 4096});
  CHECK(a.total == 49'122'681'728ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 49'122'681'728ULL);
  CHECK(a.layers.from_tensors);
  CHECK(a.layers.disagreements.empty());
  // linear_attn_config.full_attn_layers [4, 8, ..., 24, 27] (1-based): MLA at 3, 7, ..., 23, 26;
  // layer 0 dense (first_k_dense_replace 1), the rest MoE.
  CHECK(a.layers.tally ==
        "1 linear_attention+dense, 19 linear_attention+moe, 7 full_attention+moe");
  CHECK(a.layers.pattern == k_kimi_linear_pattern);
  // KV only on the 7 MLA layers, at bf16: 7 x (kv_lora_rank 512 + rope 64) x 2 bytes = 8,064
  // per token. State on the 20 KDA layers, per sequence, in the model's dtype (bf16):
  // recurrent 32 heads x 128 x 128 x 2 = 1,048,576 and conv 3 x 4,096 x (4 - 1) x 2 = 73,728
  // -> 1,122,304 x 20 = 22,446,080.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 8'064);
  CHECK(a.kv->mla_layers == 7);
  CHECK(a.kv->state_layers == 20);
  CHECK(a.kv->state_bytes_per_sequence == 22'446'080);
  // Active: 8 of 256 experts in each of 26 MoE layers.
  //   49,122,681,728 - 26 x 1,811,939,328 + 26 x 8 x 7,077,888 = 3,484,459,904
  REQUIRE(a.analytic.count->active);
  CHECK(*a.analytic.count->active == 3'484'459'904ULL);
}

TEST_CASE("Kimi Linear from config.json alone: the same pattern, KV, state and count") {
  const Analysis a = analyze(config_only_at(k_kimi_linear), {.context = 4096});
  CHECK_FALSE(a.from_headers);
  CHECK(a.total == 49'122'681'728ULL);
  CHECK(a.layers.pattern == k_kimi_linear_pattern);
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 8'064);
  CHECK(a.kv->state_bytes_per_sequence == 22'446'080);
}

TEST_CASE("Kimi Linear: the layer map reads the config's layout without noise findings") {
  const Model m = model_at(k_kimi_linear);
  const Analysis mapped = analyze(m, {.map_layers = true});
  REQUIRE(mapped.map);
  for (const auto& f : layer_findings(*mapped.map, &*m.config)) {
    FAIL_CHECK(f.where << ": " << f.text);
  }
}

// moonshotai/Kimi-K2-Instruct and -Thinking, generated into the build tree by
// tests/data/synthetic/tools/make_kimi_k2.py (139,583 and 208,215 tensors: too large to
// commit). Published count 1,026,408,232,448: the logical parameters of the real checkpoints,
// counted from all their shard headers by a public independent audit (FP8 block scales,
// INT4 group scales and weight_shape tensors not counted, I32-packed INT4 unpacked x 8); the
// same figure for Instruct, Instruct-0905 and Thinking. By hand, hidden 7,168:
//   embedding + lm_head 2 x 163,840 x 7,168 = 2,348,810,240; final norm 7,168;
//   MLA layer: q_a 7,168 x 1,536 = 11,010,048, q_a_layernorm 1,536, q_b 1,536 x 64 x 192
//     = 18,874,368, kv_a 7,168 x 576 = 4,128,768, kv_a_layernorm 512, kv_b 512 x 64 x 256
//     = 8,388,608, o_proj 64 x 128 x 7,168 = 58,720,256 -> 101,124,096; + 2 norms 14,336
//     -> 101,138,432 x 61 = 6,169,444,352;
//   layer 0 MLP 3 x 7,168 x 18,432 = 396,361,728;
//   MoE layer: 384 experts x 3 x 7,168 x 2,048 = 16,911,433,728, shared 44,040,192, router
//     384 x 7,168 + 384 = 2,752,896 -> 16,958,226,816 x 60 = 1,017,493,608,960.
//   Total 1,026,408,232,448.
// The Hub's safetensors total for Kimi-K2-Instruct is 1,026,408,235,864: 3,416 = 61 x 56 more.
// Those are BF16 elements (the index's total_size 1,029,173,256,720 bytes is 6,832 = 2 x 3,416
// above this layout's bytes with its F32 block scales) in 61 tensors (the index lists 139,644,
// this layout has 139,583), one per layer; no public source we found names them, so the replica
// leaves them out and the count is pinned to the logical figure.
#ifdef MBUILD_GENERATED_DATA
TEST_CASE("Kimi K2 Instruct (FP8): total from the headers and analytic count exact") {
  const Model m = model_at(std::filesystem::path(MBUILD_GENERATED_DATA) / "kimi_k2_instruct");
  const Analysis a = analyze(m, {.context = 4096});
  CHECK(a.total == 1'026'408'232'448ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 1'026'408'232'448ULL);
  CHECK(a.analytic.difference == 0);
  CHECK(a.layers.from_tensors);
  CHECK(a.layers.disagreements.empty());
  // MLA in every layer; layer 0 dense (first_k_dense_replace 1), the rest MoE.
  CHECK(a.layers.tally == "1 dense, 60 moe");
  CHECK(a.layers.pattern == "dense, moe ×60");
  // MLA on all 61 layers, bf16: 61 x (kv_lora_rank 512 + rope 64) x 2 bytes = 70,272 per token.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 70'272);
  CHECK(a.kv->mla_layers == 61);
  CHECK(a.kv->state_layers == 0);
  // Active: 8 of 384 experts in 60 MoE layers.
  //   1,026,408,232,448 - 60 x 16,911,433,728 + 60 x 8 x 44,040,192 = 32,861,500,928
  REQUIRE(a.analytic.count->active);
  CHECK(*a.analytic.count->active == 32'861'500'928ULL);
  // The DeepSeek-V3 contract's 1t variant (same width and depth as its 671b one): compliant,
  // and no size conflict with config.json.
  auto r = check_family(m, a.params, builtin_family_contracts());
  REQUIRE(r);
  CHECK(r->family == "deepseek_v3");
  CHECK(r->size == "1t");
  CHECK(r->conflicts.empty());
  CHECK(r->compliant);
}

TEST_CASE("Kimi K2 Thinking (INT4 pack-quantized): the logical count, the same as Instruct") {
  const Model m = model_at(std::filesystem::path(MBUILD_GENERATED_DATA) / "kimi_k2_thinking");
  const Analysis a = analyze(m, {.context = 4096});
  CHECK(a.total == 1'026'408'232'448ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 1'026'408'232'448ULL);
  CHECK(a.layers.disagreements.empty());
  CHECK(a.layers.pattern == "dense, moe ×60");
}

// moonshotai/Kimi-K3, generated into the build tree by make_kimi_k3.py (497,220 tensors, as
// the real index). Published total 2,779,931,837,184: the Hub's safetensors total (HF API; per
// dtype F32 11,122,432 + BF16 57,179,884,544 + U8 2,722,740,830,208, the U8 figure being the
// MXFP4 experts' logical values, two a byte, scales not counted), quoted in public
// repositories; a public audit of the 96 real shard headers counts the same. By hand, hidden
// 7,168 (text model_type kimi_linear; 69 KDA layers of 96 heads x 128, 24 MLA layers):
//   embedding + lm_head 2 x 163,840 x 7,168 = 2,348,810,240; final norm 7,168;
//   KDA layer (12,288 wide): q/k/v 3 x 7,168 x 12,288 = 264,241,152, convs 3 x 12,288 x 4
//     = 147,456, A_log 128 (96 heads, stored padded to 128), f_a + f_b 7,168 x 128 + 128 x
//     12,288 = 2,490,368, dt_bias 12,288, b_proj 7,168 x 96 = 688,128, full-rank g_proj
//     88,080,384, o_norm 128, o_proj 88,080,384 -> 443,740,416 x 69 = 30,618,088,704;
//   MLA layer: q_a 11,010,048 + q_a_layernorm 1,536 + q_b 1,536 x 96 x 192 = 28,311,552,
//     kv_a 4,128,768 + kv_a_layernorm 512, kv_b 512 x 96 x 256 = 12,582,912, o_proj 96 x 128
//     x 7,168 = 88,080,384, output gate g_proj 88,080,384 -> 232,196,096 x 24 = 5,572,706,304;
//   layer norms 93 x 2 x 7,168 = 1,333,248; Attention Residuals (2 norms + 2 [1, 7,168]
//     pseudo-queries a layer, one pair at the output) (93 x 2 + 1) x 2 x 7,168 = 2,680,832;
//   layer 0 MLP 3 x 7,168 x 33,792 = 726,663,168;
//   MoE layer: 896 latent experts x 3 x 3,584 x 3,072 = 29,595,009,024, latent down/up 2 x
//     7,168 x 3,584 + norm 3,584 = 51,383,808, shared 3 x 7,168 x 6,144 = 132,120,576, router
//     896 x 7,168 + 896 = 6,423,424 -> 29,784,936,832 x 92 = 2,740,214,188,544;
//   MoonViT: patch 1,024 x 3 x 14 x 14 = 602,112, positions 64 x 64 x 1,024 = 4,194,304,
//     27 blocks x (wqkv 4,608 x 1,024 + wo 1,024 x 1,536 + 2 norms + fc0/fc1 2 x 1,024 x
//     4,096 = 14,682,112) = 396,417,024, final norm 1,024, projector 4,096^2 + 7,168 x 4,096
//     + 7,168 = 46,144,512 -> 447,358,976.
//   Total 2,779,931,837,184.
TEST_CASE("Kimi K3: KDA/MLA layers, latent MoE, AttnRes and MoonViT, the total exact") {
  const Model m = model_at(std::filesystem::path(MBUILD_GENERATED_DATA) / "kimi_k3");
  const Analysis a = analyze(m, {.context = 4096});
  CHECK(a.total == 2'779'931'837'184ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 2'779'931'837'184ULL);
  CHECK(a.layers.disagreements.empty());
  // The head sits at language_model.lm_head (no model. segment): still the lm_head.
  CHECK(a.params.by_component[static_cast<size_t>(Component::lm_head)] == 1'174'405'120ULL);
  // full_attn_layers 4, 8, ..., 92, 93 (1-based): MLA at 3, 7, ..., 91 and 92; layer 0 dense.
  CHECK(a.layers.tally ==
        "1 linear_attention+dense, 68 linear_attention+moe, 24 full_attention+moe");
  CHECK(a.layers.pattern ==
        "linear_attention+dense, (linear_attention+moe ×2, full_attention+moe, "
        "linear_attention+moe) ×22, linear_attention+moe ×2, full_attention+moe ×2");
  // KV only on the 24 MLA layers (not all 93): 24 x (512 + 64) x 2 bytes = 27,648 per token.
  // KDA state, bf16: 69 x (96 x 128 x 128 x 2 + 3 x 12,288 x (4 - 1) x 2) = 69 x 3,366,912
  // = 232,316,928 per sequence.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 27'648);
  CHECK(a.kv->mla_layers == 24);
  CHECK(a.kv->state_layers == 69);
  CHECK(a.kv->state_bytes_per_sequence == 232'316'928);
  // Active: 16 of 896 experts of 33,030,144 in 92 layers.
  //   2,779,931,837,184 - 92 x 29,595,009,024 + 92 x 16 x 33,030,144 = 105,811,378,944
  REQUIRE(a.analytic.count->active);
  CHECK(*a.analytic.count->active == 105'811'378'944ULL);
}

TEST_CASE("Kimi K3 from config.json alone: the same count, KV and state") {
  const Analysis a =
      analyze(config_only_at(std::filesystem::path(MBUILD_GENERATED_DATA) / "kimi_k3"), {});
  CHECK(a.total == 2'779'931'837'184ULL);
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 27'648);
  CHECK(a.kv->state_bytes_per_sequence == 232'316'928);
}
#else
TEST_CASE("Kimi K2: the generated replicas need Python 3 at configure time") {
  WARN("Python 3 was not found: the Kimi-K2 replicas were not generated, their tests not built");
}
#endif
