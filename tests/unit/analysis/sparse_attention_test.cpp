// DeepSeek sparse attention (DSA): DeepSeek-V3.2 and GLM-5, MLA layers with a lightning indexer.
// Counts from the tensors and from config.json alone, the pattern, and the KV cache with the
// indexer's own keys. The replicas are written into the build tree by
// tests/data/synthetic/tools/make_deepseek_v32.py and make_glm_moe_dsa.py (too large to keep).
#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/compliance.hpp"
#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/family_contract.hpp"

#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/analysis/memory.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"
#include "unit/analysis/model_at.hpp"

using namespace mbuild;

#ifdef MBUILD_GENERATED_DATA

namespace {

const std::filesystem::path k_generated = MBUILD_GENERATED_DATA;

template <typename Edit>
Model model_of(const std::string& folder, Edit edit) {
  return test::model_at(k_generated / folder, edit);
}
Model model_of(const std::string& folder) {
  return test::model_at(k_generated / folder);
}
template <typename Edit>
Model config_only(const std::string& folder, Edit edit) {
  return test::config_only_at(k_generated / folder, edit);
}
Model config_only(const std::string& folder) {
  return test::config_only_at(k_generated / folder);
}

const KvKind* kv_row(const KvCache& kv, const std::string& kind) {
  for (const KvKind& k : kv.by_kind) {
    if (k.kind == kind) {
      return &k;
    }
  }
  return nullptr;
}

const std::string k_v32 = "deepseek-ai__DeepSeek-V3.2-Exp";
const std::string k_glm52 = "zai-org__GLM-5.2";

}  // namespace

// deepseek-ai/DeepSeek-V3.2-Exp. Published: the Hub's safetensors total 685,396,921,376 for
// the repo (public model tables quote it beside DeepSeek-V3.2's 685,355,329,792). It counts
// the F32 weight_scale_inv blocks, which are not parameters: per layer attention 11,448 (q_a
// 12 x 56, q_b 192 x 12, kv_a 5 x 56, kv_b 256 x 4, o 56 x 128) + indexer 824 (wq_b 64 x 12,
// wk 1 x 56) = 12,272 x 62 layers (MTP layer 61 included) = 760,864; dense MLPs 3 x 24,192
// = 72,576; experts (256 + 1 shared) x 2,688 = 690,816 x 59 MoE layers = 40,758,144; in all
// 41,591,584. Parameters 685,396,921,376 - 41,591,584 = 685,355,329,792, DeepSeek-V3.2's Hub
// total to the unit. By hand: DeepSeek-V3's 684,489,845,504 (analytic_test.cpp) + 62 indexers
// x (wq_b 64 x 128 x 1,536 = 12,582,912 + wk 128 x 7,168 = 917,504 + weights_proj 64 x 7,168
// = 458,752 + k_norm 2 x 128) = 62 x 13,959,424 = 865,484,288 -> 685,355,329,792.
TEST_CASE("DeepSeek-V3.2: total and analytic count exact, every layer sparse attention") {
  const Analysis a = analyze(model_of(k_v32), {.context = 4096});
  CHECK(a.total == 685'355'329'792ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 685'355'329'792ULL);
  CHECK(a.layers.disagreements.empty());
  CHECK(a.layers.pattern == "dense ×3, moe ×58");
  REQUIRE(a.layers.mixers.size() == 61);
  for (MixerKind k : a.layers.mixers) {
    CHECK(k == MixerKind::sparse_attention);
  }
  // KV at bf16 (torch_dtype): MLA latent 61 layers x (kv_lora_rank 512 + rope 64) x 2 bytes =
  // 70,272; indexer keys 61 x (128 FP8 + 128 / 128 x 4 bytes of FP32 scale) = 61 x 132 =
  // 8,052; in all 78,324 per token.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 78'324);
  const KvKind* mla = kv_row(*a.kv, "mla");
  REQUIRE(mla);
  CHECK(mla->layers == 61);
  CHECK(mla->bytes_per_token == 70'272);
  const KvKind* keys = kv_row(*a.kv, "indexer_keys");
  REQUIRE(keys);
  CHECK(keys->layers == 61);
  CHECK(keys->bytes_per_token == 8'052);
  CHECK(keys->bytes == 8'052ULL * 4096);
  CHECK(a.kv->bytes == 78'324ULL * 4096);
}

TEST_CASE("DeepSeek-V3.2 from config.json alone: the same count, pattern and KV") {
  const Analysis a = analyze(config_only(k_v32), {.context = 4096});
  CHECK_FALSE(a.from_headers);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 685'355'329'792ULL);
  CHECK(a.layers.pattern == "dense ×3, moe ×58");
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 78'324);
  // The indexer keys keep their FP8 format whatever the KV dtype: at fp8 the latent halves to
  // 61 x 576 = 35,136, the keys stay 8,052.
  const Analysis fp8 = analyze(config_only(k_v32), {.context = 4096, .kv_dtype_bytes = 1});
  REQUIRE(fp8.kv);
  CHECK(fp8.kv->bytes_per_token == 35'136 + 8'052);
}

TEST_CASE("DeepSeek-V3.2: the MTP layer's cache only when asked") {
  // The checkpoint ships one MTP layer (model.layers.61, num_nextn_predict_layers 1), with MLA
  // and an indexer of its own: asked for, it adds 576 x 2 + 132 = 1,284 bytes per token to the
  // 78,324 of the 61 decoder layers; by default it adds nothing.
  const Analysis plain = analyze(model_of(k_v32), {.context = 4096});
  CHECK(plain.layers.mtp == 1);
  REQUIRE(plain.kv);
  CHECK(plain.kv->mtp_layers == 0);
  CHECK(kv_row(*plain.kv, "mtp") == nullptr);
  const Analysis asked = analyze(model_of(k_v32), {.context = 4096, .kv_mtp = true});
  REQUIRE(asked.kv);
  CHECK(asked.kv->mtp_layers == 1);
  CHECK(asked.kv->bytes_per_token == 78'324 + 1'284);
  const KvKind* mtp = kv_row(*asked.kv, "mtp");
  REQUIRE(mtp);
  CHECK(mtp->layers == 1);
  CHECK(mtp->bytes_per_token == 1'284);
  CHECK(mtp->bytes == 1'284ULL * 4096);
  // config.json alone says the same.
  const Analysis config = analyze(config_only(k_v32), {.context = 4096, .kv_mtp = true});
  REQUIRE(config.kv);
  CHECK(config.kv->bytes_per_token == 78'324 + 1'284);
  // A checkpoint without the MTP layer's tensors has none to run.
  const Analysis stripped =
      analyze(config_only(k_v32, [](nlohmann::json& c) { c["num_nextn_predict_layers"] = 0; }),
              {.context = 4096, .kv_mtp = true});
  REQUIRE(stripped.kv);
  CHECK(stripped.kv->bytes_per_token == 78'324);
}

// zai-org/GLM-5.2. Published: the Hub's safetensors total 753,329,940,480 (BF16
// 753,329,921,024 + F32 19,456, quoted with the repo's API answer in public notes). The
// indexer runs on the 21 "full" layers of indexer_types (0, 1, 2, 6, 10, ..., 74) and on the
// MTP layer; the 57 "shared" layers hold none. By hand:
//   embedding and lm_head 2 x 154,880 x 6,144 = 1,903,165,440; final norm 6,144;
//   MLA 6,144 x 2,048 + 2,048 x 64 x 256 + 6,144 x 576 + 512 x 64 x 448 + 64 x 256 x 6,144 =
//     165,019,648, its norms 2,048 + 512, layer norms 2 x 6,144;
//   dense layer (0-2): + MLP 3 x 6,144 x 12,288 = 226,492,416 -> 391,526,912;
//   MoE layer: + 256 experts x 3 x 6,144 x 2,048 = 9,663,676,416, shared 37,748,736, router
//     256 x 6,144 + 256 bias -> 9,868,032,768;
//   indexer: wq_b 32 x 128 x 2,048 + wk 128 x 6,144 + weights_proj 32 x 6,144 + k_norm 2 x 128
//     = 9,371,904;
//   MTP layer: MoE layer + indexer + eh_proj 2 x 6,144^2 + enorm, hnorm, shared_head.norm
//     3 x 6,144 = 9,952,920,576 (no embedding or head of its own);
//   1,903,171,584 + 3 x 391,526,912 + 75 x 9,868,032,768 + 21 x 9,371,904 + 9,952,920,576
//     = 753,329,940,480.
TEST_CASE("GLM-5.2: total and analytic count exact, shared-index layers in the pattern") {
  const Analysis a = analyze(model_of(k_glm52), {.context = 4096});
  CHECK(a.total == 753'329'940'480ULL);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 753'329'940'480ULL);
  CHECK(a.layers.disagreements.empty());
  CHECK(a.layers.pattern ==
        "deepseek_sparse_attention+dense ×3, (deepseek_sparse_attention (shared index)+moe ×3, "
        "deepseek_sparse_attention+moe) ×18, deepseek_sparse_attention (shared index)+moe ×3");
  // KV at bf16: MLA latent 78 x (512 + 64) x 2 = 89,856; indexer keys on the 21 full layers
  // only, 21 x (128 + 4) = 2,772; in all 92,628 per token.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 92'628);
  const KvKind* keys = kv_row(*a.kv, "indexer_keys");
  REQUIRE(keys);
  CHECK(keys->layers == 21);
  CHECK(keys->bytes_per_token == 2'772);
  const KvKind* mla = kv_row(*a.kv, "mla");
  REQUIRE(mla);
  CHECK(mla->layers == 78);
  CHECK(mla->bytes_per_token == 89'856);
}

TEST_CASE("GLM-5.2 from config.json alone, and the schedule from index_topk_freq alone") {
  const Analysis a = analyze(config_only(k_glm52), {.context = 4096});
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 753'329'940'480ULL);
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 92'628);
  // Without indexer_types, GlmMoeDsaConfig's rule: full where max(i - offset + 1, 0) is a
  // multiple of index_topk_freq (offset 3, freq 4): the same 21 layers.
  const Analysis b = analyze(
      config_only(k_glm52, [](nlohmann::json& c) { c.erase("indexer_types"); }), {.context = 4096});
  REQUIRE(b.analytic.count);
  CHECK(b.analytic.count->total == 753'329'940'480ULL);
  CHECK(b.layers.pattern == a.layers.pattern);
}

// zai-org/GLM-5 (and GLM-5.1): the architecture fields of GLM-5.2 (GlmMoeDsaConfig's defaults
// are GLM-5's) with no indexer schedule: an indexer in every layer. Published: the Hub's
// safetensors total 753,864,139,008 for both repos (public model tables). By hand: GLM-5.2's
// 753,329,940,480 + 57 more indexers x 9,371,904 = 534,198,528 -> 753,864,139,008.
TEST_CASE("GLM-5: an indexer in every layer when no schedule says otherwise") {
  const Analysis a = analyze(config_only(k_glm52,
                                         [](nlohmann::json& c) {
                                           c.erase("indexer_types");
                                           c.erase("index_topk_freq");
                                           c.erase("index_skip_topk_offset");
                                           c.erase("index_share_for_mtp_iteration");
                                           c["max_position_embeddings"] = 202752;
                                         }),
                             {.context = 4096});
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == 753'864'139'008ULL);
  CHECK(a.layers.pattern == "dense ×3, moe ×75");
  // KV: 89,856 + 78 x 132 = 10,296 -> 100,152 per token.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 100'152);
}

// Which layers keep an indexer is read off the tensors too: where config.json's schedule says
// otherwise, each such layer is a finding and the tensors win (the KV follows them).
TEST_CASE("DSA indexer: config.json against the tensors, layer by layer") {
  // GLM-5.2's indexer_types: layer 2 "full", layer 3 "shared"; the checkpoint agrees. Swapped
  // in config.json, both layers disagree with the tensors.
  const Analysis a = analyze(model_of(k_glm52,
                                      [](nlohmann::json& c) {
                                        c["indexer_types"][2] = "shared";
                                        c["indexer_types"][3] = "full";
                                      }),
                             {.context = 4096});
  std::vector<std::string> where;
  for (const Finding& f : a.layers.disagreements) {
    INFO(f.where << ": " << f.text);
    CHECK(f.text.find("indexer") != std::string::npos);
    where.push_back(f.where);
  }
  CHECK(where == std::vector<std::string>{"layer 2", "layer 3"});
  REQUIRE(a.layers.indexer.size() == 78);
  CHECK(a.layers.indexer[2]);
  CHECK_FALSE(a.layers.indexer[3]);
  // The tensors' 21 indexers: 89,856 + 21 x 132 = 92,628 per token, as without the edit.
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 92'628);
  REQUIRE(kv_row(*a.kv, "indexer_keys"));
  CHECK(kv_row(*a.kv, "indexer_keys")->layers == 21);
}

TEST_CASE("DSA indexer found by its tensors in a model_type nobody taught mbuild") {
  // DeepSeek-V3.2's checkpoint under an unknown model_type: the indexer tensors alone make
  // every layer sparse attention with its keys cached (61 x 132 = 8,052 beside the MLA
  // latent's 70,272), and nothing is flagged.
  const Analysis a =
      analyze(model_of(k_v32, [](nlohmann::json& c) { c["model_type"] = "mystery_dsa"; }),
              {.context = 4096});
  CHECK(a.analytic.unavailable.starts_with("unknown family"));
  CHECK(a.layers.disagreements.empty());
  REQUIRE(a.layers.mixers.size() == 61);
  for (MixerKind k : a.layers.mixers) {
    CHECK(k == MixerKind::sparse_attention);
  }
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 78'324);
  // And DeepSeek-V3's config over those tensors (config.json says plain MLA): each of the 61
  // layers is a finding, the indexers are kept.
  const Analysis v3 =
      analyze(model_of(k_v32, [](nlohmann::json& c) { c["model_type"] = "deepseek_v3"; }),
              {.context = 4096});
  REQUIRE(v3.kv);
  CHECK(v3.kv->bytes_per_token == 78'324);
  CHECK(v3.layers.disagreements.size() == 61);
}

TEST_CASE("DSA indexer: one LightningIndexerLayer entry per layer, its LayerNorm included") {
  // Per layer: wq_b 64 x 128 x 1,536 = 12,582,912 + wk 128 x 7,168 = 917,504 + weights_proj
  // 64 x 7,168 = 458,752 + k_norm weight and bias 2 x 128 = 13,959,424. The k_norm is the
  // indexer's, not a q/k norm of the attention.
  const Model model = model_of(k_v32);
  const LayerMap map = map_layers(model, count_params(model));
  const LayerEntry* indexer = nullptr;
  for (const LayerEntry& e : map.entries) {
    CHECK(e.name != "qk_norm");
    if (e.layer_class == "LightningIndexerLayer") {
      CHECK(indexer == nullptr);
      indexer = &e;
    }
  }
  REQUIRE(indexer);
  CHECK(indexer->count == 61);
  CHECK(indexer->parameter_count == 13'959'424);
}

// The family contracts: every tensor where the template puts it, the indexer on the layers that
// have one, and its LayerNorm taken for neither a q/k norm nor the model's norm kind.
TEST_CASE("DSA contracts: DeepSeek-V3.2 and GLM-5.2 comply") {
  for (const auto& [folder, family, indexers] :
       {std::tuple{k_v32, "deepseek_v32", 61}, std::tuple{k_glm52, "glm_moe_dsa", 21}}) {
    DYNAMIC_SECTION(folder) {
      const Model model = model_of(folder);
      const ParamCount params = count_params(model);
      auto r = check_family(model, params, builtin_family_contracts());
      REQUIRE(r);
      CHECK(r->family == family);
      CHECK(r->unexpected == std::vector<std::string>{});
      CHECK(r->missing == std::vector<std::string>{});
      CHECK(r->shape_mismatches.empty());
      for (const ConstraintCheck& c : r->constraints) {
        INFO(c.constraint << ": contract " << c.contract << ", model " << c.model);
        CHECK(c.pass);
      }
      CHECK(r->compliant);
      // Per layer: 2 norms, 7 attention tensors; the indexer's 5 where it runs; 3 dense MLP
      // tensors in layers 0-2, and in the MoE layers a router, its bias, 256 x 3 expert and 3
      // shared-expert tensors; embedding, final norm, lm_head.
      const int layers = family == std::string("deepseek_v32") ? 61 : 78;
      CHECK(r->expected_tensors == static_cast<uint64_t>(3 + layers * 9 + indexers * 5 + 3 * 3 +
                                                         (layers - 3) * (2 + 256 * 3 + 3)));
      CHECK(r->found_tensors == r->expected_tensors);
    }
  }
}

#endif  // MBUILD_GENERATED_DATA
