// Weight sizes in other formats and KV-cache / recurrent-state memory, against published or
// hand-computed figures.
#include "mbuild/analysis/memory.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace mbuild;

namespace {

ModelConfig memory_config(std::string_view text) {
  auto cfg = parse_model_config("config.json", text);
  if (!cfg) {
    FAIL("config rejected: " << cfg.error().message());
  }
  return std::move(*cfg);
}

ModelConfig memory_corpus_config(const std::string& folder) {
  std::ifstream in(test::corpus_dir() / folder / "config.json");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return memory_config(text.str());
}

KvCache kv_of(const ModelConfig& cfg, uint64_t context, uint64_t batch) {
  auto kv = kv_cache(cfg, context, batch);
  if (!kv) {
    FAIL("no KV cache: " << kv.error().message());
  }
  return *kv;
}

// meta-llama/Llama-3.1-70B config.json (the fields that size the cache).
constexpr std::string_view k_llama_70b = R"({"model_type":"llama","hidden_size":8192,
  "intermediate_size":28672,"num_attention_heads":64,"num_hidden_layers":80,
  "num_key_value_heads":8,"max_position_embeddings":131072,"rope_theta":500000.0,
  "torch_dtype":"bfloat16","vocab_size":128256})";

// deepseek-ai/DeepSeek-V3 config.json (the fields that size the cache).
constexpr std::string_view k_deepseek_v3 = R"({"model_type":"deepseek_v3","hidden_size":7168,
  "num_attention_heads":128,"num_key_value_heads":128,"num_hidden_layers":61,
  "kv_lora_rank":512,"q_lora_rank":1536,"qk_nope_head_dim":128,"qk_rope_head_dim":64,
  "v_head_dim":128,"max_position_embeddings":163840,"n_routed_experts":256,
  "num_experts_per_tok":8,"first_k_dense_replace":3,"moe_layer_freq":1,
  "num_nextn_predict_layers":1,"torch_dtype":"bfloat16",
  "quantization_config":{"quant_method":"fp8","fmt":"e4m3","weight_block_size":[128,128]}})";

}  // namespace

TEST_CASE("KV cache per token of Llama-3.1-70B is 327,680 bytes") {
  // Published: 80 layers x 2 (K, V) x 8 kv heads x 128 head_dim x 2 bytes (bf16) = 327,680.
  auto cfg = memory_config(k_llama_70b);
  KvCache kv = kv_of(cfg, 8192, 4);
  CHECK(kv.dtype_bytes == 2);
  CHECK(kv.bytes_per_token == 327'680);
  CHECK(kv.full_layers == 80);
  CHECK(kv.sliding_layers == 0);
  CHECK(kv.state_layers == 0);
  // 327,680 x 8,192 tokens x 4 sequences = 10,737,418,240 (10 GiB).
  CHECK(kv.bytes == 10'737'418'240ULL);
  // MHA would keep all 64 heads: 80 x 2 x 64 x 128 x 2 = 2,621,440 (8x the GQA cache).
  CHECK(kv.mha_bytes_per_token == 2'621'440);
}

TEST_CASE("KV cache context 0 means max_position_embeddings") {
  KvCache kv = kv_of(memory_config(k_llama_70b), 0, 0);
  CHECK(kv.context == 131'072);
  CHECK(kv.batch == 1);
  CHECK(kv.bytes == 327'680ULL * 131'072);
}

TEST_CASE("KV cache per token of DeepSeek-V3 MLA is 70,272 bytes") {
  // Published: 61 layers x (kv_lora_rank 512 + qk_rope_head_dim 64) x 2 bytes = 70,272.
  KvCache kv = kv_of(memory_config(k_deepseek_v3), 4096, 1);
  CHECK(kv.bytes_per_token == 70'272);
  CHECK(kv.mla_layers == 61);
  CHECK(kv.full_layers == 0);
  CHECK(kv.bytes == 70'272ULL * 4096);
  // The MHA equivalent: 61 x 128 heads x (K 128 + 64, V 128) x 2 bytes = 4,997,120.
  CHECK(kv.mha_bytes_per_token == 4'997'120);
}

TEST_CASE("KV cache of DeepSeek-V3's MTP layer is counted only when asked") {
  // The MTP layer (num_nextn_predict_layers 1) is an MLA layer: 512 + 64 latent x 2 bytes =
  // 1,152 per token, so 62 x 1,152 = 71,424 with it and 70,272 without.
  const ModelConfig cfg = memory_config(k_deepseek_v3);
  auto kv = kv_cache(cfg, cfg.layer_attention, {.context = 4096, .mtp_layers = 1});
  REQUIRE(kv);
  CHECK(kv->bytes_per_token == 71'424);
  CHECK(kv->mtp_layers == 1);
  CHECK(kv->mla_layers == 61);
  REQUIRE(kv->by_kind.size() == 2);
  CHECK(kv->by_kind[1].kind == "mtp");
  CHECK(kv->by_kind[1].bytes_per_token == 1'152);
  CHECK(kv->bytes == 71'424ULL * 4096);
  // A GQA model's MTP layer caches what a full-attention layer does: Llama-3.1-70B shape with
  // two such layers, 82 x 4,096.
  const ModelConfig llama = memory_config(k_llama_70b);
  auto gqa = kv_cache(llama, llama.layer_attention, {.context = 8192, .mtp_layers = 2});
  REQUIRE(gqa);
  CHECK(gqa->bytes_per_token == 82 * 4'096);
}

TEST_CASE("KV cache of a sliding-window model caps the sliding layers at the window") {
  // google/gemma-2-9b: 42 layers alternating sliding (window 4096) and full; 8 kv heads,
  // head_dim 256, bf16 -> 2 x 8 x 256 x 2 = 8,192 bytes per layer and token.
  auto cfg = memory_corpus_config("google__gemma-2-9b");
  SECTION("context longer than the window") {
    KvCache kv = kv_of(cfg, 8192, 1);
    CHECK(kv.bytes_per_token == 42 * 8'192);  // 344,064
    CHECK(kv.sliding_layers == 21);
    CHECK(kv.full_layers == 21);
    // full: 21 x 8,192 x 8,192 = 1,409,286,144; sliding: 21 x 8,192 x 4,096 = 704,643,072.
    CHECK(kv.bytes == 2'113'929'216ULL);
    REQUIRE_FALSE(kv.notes.empty());
    CHECK(kv.notes[0].find("21 sliding-window layer(s) hold at most 4096 tokens") !=
          std::string::npos);
  }
  SECTION("context within the window") {
    KvCache kv = kv_of(cfg, 2048, 3);
    // 344,064 x 2,048 x 3 = 2,113,929,216: nothing is capped.
    CHECK(kv.bytes == 2'113'929'216ULL);
    CHECK(kv.notes.empty());
  }
}

TEST_CASE("KV cache of a hybrid model counts full-attention layers, linear layers hold state") {
  // Qwen/Qwen3-Next-80B-A3B: 48 layers, full_attention_interval 4 -> 12 full-attention layers
  // with 2 kv heads x 256 head_dim: 12 x 2 x 2 x 256 x 2 bytes = 24,576 bytes per token.
  // Each of the 36 gated delta-net layers keeps, per sequence (as vLLM sizes it):
  //   recurrent state  value heads 32 x key dim 128 x value dim 128 = 524,288 elements;
  //   conv state       conv_dim (2 x 16 key heads x 128 + 32 x 128 = 8,192) x (kernel 4 - 1)
  //                    = 24,576 elements;
  //   (524,288 + 24,576) x 2 bytes = 1,097,728 bytes; x 36 layers = 39,518,208.
  auto cfg = memory_corpus_config("Qwen__Qwen3-Next-80B-A3B-Thinking");
  KvCache kv = kv_of(cfg, 0, 2);
  CHECK(kv.context == 262'144);
  CHECK(kv.full_layers == 12);
  CHECK(kv.state_layers == 36);
  CHECK(kv.bytes_per_token == 24'576);
  CHECK(kv.bytes == 24'576ULL * 262'144 * 2);
  CHECK(kv.state_bytes_per_sequence == 39'518'208);
  CHECK(kv.state_bytes == 2 * 39'518'208ULL);
}

TEST_CASE("a Mamba model has no KV cache, only a constant state") {
  // state-spaces/mamba-130m-hf: 24 layers, d_inner 1536, state_size 16, conv_kernel 4, fp32.
  // Per layer: ssm state 1,536 x 16 = 24,576 + conv state 1,536 x 3 = 4,608 elements
  // = 29,184 x 4 bytes = 116,736; x 24 = 2,801,664 bytes per sequence.
  KvCache kv = kv_of(memory_corpus_config("state-spaces__mamba-130m-hf"), 2048, 1);
  CHECK(kv.dtype_bytes == 4);
  CHECK(kv.bytes_per_token == 0);
  CHECK(kv.bytes == 0);
  CHECK(kv.state_layers == 24);
  CHECK(kv.state_bytes_per_sequence == 2'801'664);
}

TEST_CASE("an encoder-only model has no KV cache") {
  auto kv = kv_cache(memory_corpus_config("google-bert__bert-base-uncased"), 512, 1);
  REQUIRE_FALSE(kv);
  CHECK(kv.error().kind == ErrorKind::not_found);
  CHECK(kv.error().why.find("encoder-only") != std::string::npos);
}

TEST_CASE("a decoder without kv heads or head_dim has no KV-cache size") {
  auto kv = kv_cache(memory_config(R"({"model_type":"llama","num_hidden_layers":2})"), 16, 1);
  REQUIRE_FALSE(kv);
  CHECK(kv.error().kind == ErrorKind::bad_input);
}

TEST_CASE("torch dtype names map to their byte widths") {
  CHECK(torch_dtype_bytes("float32") == 4);
  CHECK(torch_dtype_bytes("bfloat16") == 2);
  CHECK(torch_dtype_bytes("float16") == 2);
  CHECK(torch_dtype_bytes("float8_e4m3fn") == 1);
  CHECK(torch_dtype_bytes("") == 2);
}

TEST_CASE("weight formats for 1,000,000,000 params") {
  // bytes = 1e9 x bits per weight / 8:
  //   F32 32 -> 4,000,000,000; BF16 16 -> 2,000,000,000; FP8 and INT8 8 -> 1,000,000,000;
  //   INT4 with one FP16 scale per 128 weights: (512 + 16) / 128 = 4.125 bits -> 515,625,000;
  //   Q8_0 34-byte blocks of 32: 31,250,000 blocks x 34 = 1,062,500,000;
  //   Q6_K 210-byte super-blocks of 256: 3,906,250 x 210 = 820,312,500;
  //   Q4_K_M at the nominal 4.85 bits -> 606,250,000;
  //   MXFP4 17-byte blocks of 32 (32 x 4 bits + an E8M0 scale): 31,250,000 x 17 = 531,250,000;
  //   NVFP4 9-byte blocks of 16 (16 x 4 bits + an FP8 scale): 62,500,000 x 9 = 562,500,000.
  struct Expected {
    std::string_view format;
    double bits;
    uint64_t bytes;
  };
  const Expected expected[] = {
      {"F32", 32, 4'000'000'000},    {"BF16", 16, 2'000'000'000},   {"FP8", 8, 1'000'000'000},
      {"INT8", 8, 1'000'000'000},    {"INT4", 4.125, 515'625'000},  {"Q8_0", 8.5, 1'062'500'000},
      {"Q6_K", 6.5625, 820'312'500}, {"Q4_K_M", 4.85, 606'250'000}, {"MXFP4", 4.25, 531'250'000},
      {"NVFP4", 4.5, 562'500'000},
  };
  auto formats = weight_formats(1'000'000'000);
  REQUIRE(formats.size() == std::size(expected));
  for (size_t i = 0; i < formats.size(); ++i) {
    INFO(expected[i].format);
    CHECK(formats[i].format == expected[i].format);
    CHECK(formats[i].bits_per_weight() == Approx(expected[i].bits));
    CHECK(formats[i].bytes == expected[i].bytes);
  }
}

TEST_CASE("weight formats round partial bytes up and do not overflow") {
  auto one = weight_formats(1);
  CHECK(one[0].bytes == 4);  // F32
  CHECK(one[4].bytes == 1);  // INT4: 4.125 bits -> 1 byte
  // 405B params (Llama-3.1-405B, 405,853,388,800) in F32: x 4 = 1,623,413,555,200 bytes.
  CHECK(weight_formats(405'853'388'800ULL)[0].bytes == 1'623'413'555'200ULL);
  // 10^18 params still fit: F32 = 4 x 10^18 bytes < 2^64.
  CHECK(weight_formats(1'000'000'000'000'000'000ULL)[0].bytes == 4'000'000'000'000'000'000ULL);
}
