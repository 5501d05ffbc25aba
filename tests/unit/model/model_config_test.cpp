// config.json reading: the alias table, nested text configs, per-layer kinds, quantization.
#include "mbuild/model/model_config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "unit/model/kind_names.hpp"

#include "test_support.hpp"

using namespace mbuild;

using mbuild::test::names;

namespace {

ModelConfig config_of(std::string_view text) {
  auto cfg = parse_model_config("config.json", text);
  if (!cfg) {
    FAIL("config rejected: " << cfg.error().message());
  }
  return std::move(*cfg);
}

ModelConfig corpus_config_of(const std::string& folder) {
  std::ifstream in(test::corpus_dir() / folder / "config.json");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return config_of(text.str());
}

size_t count_of(const std::vector<std::string>& v, std::string_view kind) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), kind));
}

}  // namespace

// ---- aliases ----------------------------------------------------------------------------

TEST_CASE("GPT-2 spells its dimensions n_embd, n_layer, n_head, n_positions, n_inner") {
  // openai-community/gpt2 config.json: n_inner null means 4 x n_embd.
  auto cfg = config_of(R"({"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,
                           "n_positions":1024,"n_ctx":1024,"n_inner":null,"vocab_size":50257})");
  CHECK(cfg.hidden_size == 768U);
  CHECK(cfg.num_layers == 12U);
  CHECK(cfg.num_heads == 12U);
  CHECK(cfg.num_kv_heads == 12U);
  CHECK(cfg.head_dim == 64U);
  CHECK(cfg.intermediate_size == 3072U);
  CHECK(cfg.max_position_embeddings == 1024U);
  CHECK(cfg.vocab_size == 50257U);
  CHECK(cfg.tie_word_embeddings == true);  // GPT2Config ties by default
  CHECK(std::count(cfg.defaulted.begin(), cfg.defaulted.end(), "tie_word_embeddings") == 1);
}

TEST_CASE("BLOOM spells its dimensions n_embed and n_head") {
  // bigscience/bloom config.json: n_embed 14336, n_head 112, n_layer 70; BLOOM's MLP is 4x.
  auto cfg = config_of(R"({"model_type":"bloom","n_embed":14336,"n_head":112,"n_layer":70,
                           "n_inner":null,"vocab_size":250880})");
  CHECK(cfg.hidden_size == 14336U);
  CHECK(cfg.num_heads == 112U);
  CHECK(cfg.num_kv_heads == 112U);
  CHECK(cfg.num_layers == 70U);
  CHECK(cfg.head_dim == 128U);
  CHECK(cfg.intermediate_size == 57344U);
}

TEST_CASE("Falcon multi_query means one KV head unless new_decoder_architecture") {
  SECTION("falcon-7b: multi_query") {
    auto cfg = config_of(R"({"model_type":"falcon","hidden_size":4544,"n_head":71,"n_layer":32,
                             "multi_query":true,"new_decoder_architecture":false})");
    CHECK(cfg.num_heads == 71U);
    CHECK(cfg.num_kv_heads == 1U);
    CHECK(cfg.head_dim == 64U);
    CHECK(cfg.intermediate_size == 4U * 4544U);
  }
  SECTION("falcon-40b: new decoder architecture with n_head_kv groups") {
    auto cfg = config_of(R"({"model_type":"falcon","hidden_size":8192,"n_head":128,
                             "n_head_kv":8,"n_layer":60,"multi_query":true,
                             "new_decoder_architecture":true})");
    CHECK(cfg.num_heads == 128U);
    CHECK(cfg.num_kv_heads == 8U);
  }
  SECTION("neither: every head has its own KV") {
    auto cfg = config_of(R"({"model_type":"falcon","hidden_size":2048,"num_attention_heads":32,
                             "num_hidden_layers":24,"multi_query":false})");
    CHECK(cfg.num_kv_heads == 32U);
  }
}

TEST_CASE("T5 spells its dimensions d_model, num_layers, d_ff, num_heads, d_kv") {
  // google/flan-t5-large config.json.
  auto cfg = corpus_config_of("google__flan-t5-large");
  CHECK(cfg.model_type == "t5");
  CHECK(cfg.hidden_size == 1024U);
  CHECK(cfg.num_layers == 24U);
  CHECK(cfg.intermediate_size == 2816U);
  CHECK(cfg.num_heads == 16U);
  CHECK(cfg.head_dim == 64U);
  CHECK(cfg.count("num_decoder_layers") == 24U);
}

TEST_CASE("MPT and DBRX keep attention settings in attn_config") {
  SECTION("MPT: d_model, n_heads, n_layers, expansion_ratio, attn_config.kv_n_heads") {
    auto cfg = config_of(R"({"model_type":"mpt","d_model":4096,"n_heads":32,"n_layers":32,
                             "expansion_ratio":4,"max_seq_len":2048,"vocab_size":50432,
                             "attn_config":{"kv_n_heads":8,
                                            "attn_type":"grouped_query_attention"}})");
    CHECK(cfg.hidden_size == 4096U);
    CHECK(cfg.num_heads == 32U);
    CHECK(cfg.num_layers == 32U);
    CHECK(cfg.num_kv_heads == 8U);
    CHECK(cfg.intermediate_size == 16384U);
    CHECK(cfg.max_position_embeddings == 2048U);
  }
  SECTION("DBRX: ffn_config experts, attn_config kv heads and rope_theta") {
    // databricks/dbrx-base config.json.
    auto cfg = config_of(R"({"model_type":"dbrx","d_model":6144,"n_heads":48,"n_layers":40,
                             "max_seq_len":32768,"vocab_size":100352,
                             "attn_config":{"kv_n_heads":8,"rope_theta":500000,"clip_qkv":8},
                             "ffn_config":{"ffn_hidden_size":10752,"moe_num_experts":16,
                                           "moe_top_k":4}})");
    CHECK(cfg.hidden_size == 6144U);
    CHECK(cfg.num_heads == 48U);
    CHECK(cfg.num_kv_heads == 8U);
    CHECK(cfg.num_layers == 40U);
    CHECK(cfg.head_dim == 128U);
    CHECK(cfg.intermediate_size == 10752U);
    CHECK(cfg.num_experts == 16U);
    CHECK(cfg.top_k == 4U);
    CHECK(cfg.rope_theta == 500000.0);
    CHECK(cfg.is_moe());
  }
}

TEST_CASE("a nested text_config wins over the root and the vision config (Llama 4)") {
  // meta-llama/Llama-4-Scout-17B-16E config.json (abridged).
  auto cfg = config_of(R"({"model_type":"llama4","architectures":["Llama4ForConditionalGeneration"],
    "text_config":{"model_type":"llama4_text","hidden_size":5120,"num_hidden_layers":48,
      "num_attention_heads":40,"num_key_value_heads":8,"head_dim":128,"intermediate_size":8192,
      "num_local_experts":16,"num_experts_per_tok":1,"interleave_moe_layer_step":1,
      "vocab_size":202048,"rope_theta":500000.0,"torch_dtype":"bfloat16"},
    "vision_config":{"model_type":"llama4_vision_model","hidden_size":1408,"num_hidden_layers":34,
      "num_attention_heads":16}})");
  CHECK(cfg.model_type == "llama4_text");
  CHECK(cfg.root_model_type == "llama4");
  CHECK(cfg.architectures == std::vector<std::string>{"Llama4ForConditionalGeneration"});
  CHECK(cfg.hidden_size == 5120U);
  CHECK(cfg.num_layers == 48U);
  CHECK(cfg.num_heads == 40U);
  CHECK(cfg.num_kv_heads == 8U);
  CHECK(cfg.num_experts == 16U);
  CHECK(cfg.top_k == 1U);
  CHECK(cfg.torch_dtype == "bfloat16");
  CHECK(count_of(names(cfg.layer_mlp), "moe") == 48);
}

TEST_CASE("a nested gemma3_text config falls back to Gemma3TextConfig defaults") {
  // google/gemma-3-4b-it config.json (abridged): heads and head_dim are left to the defaults.
  auto cfg = config_of(R"({"model_type":"gemma3",
    "text_config":{"model_type":"gemma3_text","hidden_size":2560,"intermediate_size":10240,
      "num_hidden_layers":34,"sliding_window":1024,
      "rope_scaling":{"factor":8.0,"rope_type":"linear"}},
    "vision_config":{"model_type":"siglip_vision_model","hidden_size":1152,
      "num_hidden_layers":27}})");
  CHECK(cfg.model_type == "gemma3_text");
  CHECK(cfg.hidden_size == 2560U);
  CHECK(cfg.num_layers == 34U);
  CHECK(cfg.num_heads == 8U);
  CHECK(cfg.num_kv_heads == 4U);
  CHECK(cfg.head_dim == 256U);
  CHECK(cfg.vocab_size == 262208U);
  CHECK(cfg.sliding_window == 1024U);
  CHECK(cfg.tie_word_embeddings == true);
  for (const char* field : {"num_heads", "num_kv_heads", "head_dim", "vocab_size"}) {
    CHECK(std::count(cfg.defaulted.begin(), cfg.defaulted.end(), field) == 1);
  }
  CHECK(std::count(cfg.defaulted.begin(), cfg.defaulted.end(), "hidden_size") == 0);
  // 34 layers, every 6th full: layers 5, 11, 17, 23, 29.
  REQUIRE(cfg.layer_attention.size() == 34);
  CHECK(count_of(names(cfg.layer_attention), "full_attention") == 5);
  CHECK(names(cfg.layer_attention)[5] == "full_attention");
  CHECK(names(cfg.layer_attention)[0] == "sliding_attention");
}

TEST_CASE("a Qwen3.5-style nested config reads rope_parameters and layer_types") {
  auto cfg = config_of(R"({"model_type":"qwen3_5_moe",
    "text_config":{"model_type":"qwen3_5_moe_text","hidden_size":2048,"num_hidden_layers":8,
      "num_attention_heads":16,"num_key_value_heads":2,"head_dim":256,
      "full_attention_interval":2,
      "layer_types":["linear_attention","linear_attention","linear_attention","full_attention",
                     "linear_attention","linear_attention","linear_attention","full_attention"],
      "rope_parameters":{"rope_type":"default","rope_theta":10000000,"partial_rotary_factor":0.25},
      "num_experts":256,"num_experts_per_tok":8}})");
  CHECK(cfg.model_type == "qwen3_5_moe_text");
  CHECK(cfg.rope_theta == 1.0e7);
  // layer_types wins over full_attention_interval.
  REQUIRE(cfg.layer_attention.size() == 8);
  CHECK(count_of(names(cfg.layer_attention), "full_attention") == 2);
  CHECK(names(cfg.layer_attention)[1] == "linear_attention");
  CHECK(names(cfg.layer_attention)[3] == "full_attention");
}

TEST_CASE("rope_theta is read at the top level or inside rope_parameters") {
  CHECK(config_of(R"({"rope_theta":500000.0})").rope_theta == 500000.0);
  CHECK(config_of(R"({"rope_parameters":{"rope_theta":1000000}})").rope_theta == 1.0e6);
  // Both present: the top-level field comes first in the alias table.
  CHECK(config_of(R"({"rope_theta":10000,"rope_parameters":{"rope_theta":20000}})").rope_theta ==
        10000.0);
}

// ---- per-layer kinds --------------------------------------------------------------------

TEST_CASE("layer_types lists each layer's attention kind, normalised") {
  auto cfg = config_of(R"({"num_hidden_layers":4,
    "layer_types":["sliding_attention","full_attention","sliding_window","global"]})");
  CHECK(names(cfg.layer_attention) ==
        std::vector<std::string>{"sliding_attention", "full_attention", "sliding_attention",
                                 "full_attention"});
}

TEST_CASE("full_attention_interval makes every Nth layer full attention (Qwen3-Next)") {
  // Qwen/Qwen3-Next-80B-A3B: 48 layers, full_attention_interval 4 -> layers 3, 7, ..., 47.
  auto cfg = corpus_config_of("Qwen__Qwen3-Next-80B-A3B-Thinking");
  REQUIRE(cfg.layer_attention.size() == 48);
  CHECK(count_of(names(cfg.layer_attention), "full_attention") == 12);
  CHECK(count_of(names(cfg.layer_attention), "linear_attention") == 36);
  CHECK(names(cfg.layer_attention)[3] == "full_attention");
  CHECK(names(cfg.layer_attention)[47] == "full_attention");
  CHECK(names(cfg.layer_attention)[4] == "linear_attention");
  // decoder_sparse_step 1 and an empty mlp_only_layers: every layer is MoE.
  CHECK(count_of(names(cfg.layer_mlp), "moe") == 48);
}

TEST_CASE("sliding_window_pattern makes every Nth gemma3 layer global") {
  // google/gemma-3-1b-it: 26 layers, sliding_window_pattern 6 -> full at 5, 11, 17, 23.
  auto cfg = corpus_config_of("google__gemma-3-1b-it");
  REQUIRE(cfg.layer_attention.size() == 26);
  CHECK(count_of(names(cfg.layer_attention), "full_attention") == 4);
  CHECK(names(cfg.layer_attention)[23] == "full_attention");
  CHECK(names(cfg.layer_attention)[24] == "sliding_attention");
  CHECK(names(cfg.layer_attention)[25] == "sliding_attention");
}

TEST_CASE("gemma2 alternates sliding and full attention") {
  auto cfg = corpus_config_of("google__gemma-2-9b");
  REQUIRE(cfg.layer_attention.size() == 42);
  CHECK(count_of(names(cfg.layer_attention), "sliding_attention") == 21);
  CHECK(names(cfg.layer_attention)[0] == "sliding_attention");
  CHECK(names(cfg.layer_attention)[1] == "full_attention");
  CHECK(cfg.sliding_window == 4096U);
}

TEST_CASE("first_k_dense_replace and moe_layer_freq choose the MoE layers") {
  SECTION("DeepSeek-V2-Lite: 27 layers, the first dense") {
    auto cfg = corpus_config_of("deepseek-ai__DeepSeek-V2-Lite");
    REQUIRE(cfg.layer_mlp.size() == 27);
    CHECK(names(cfg.layer_mlp)[0] == "dense");
    CHECK(count_of(names(cfg.layer_mlp), "moe") == 26);
  }
  SECTION("first 2 dense, then every 2nd layer") {
    auto cfg = config_of(R"({"num_hidden_layers":8,"n_routed_experts":4,
                             "first_k_dense_replace":2,"moe_layer_freq":2})");
    CHECK(names(cfg.layer_mlp) == std::vector<std::string>{"dense", "dense", "moe", "dense", "moe",
                                                           "dense", "moe", "dense"});
  }
}

TEST_CASE("decoder_sparse_step and mlp_only_layers choose the MoE layers") {
  // Qwen2-MoE: MoE where (i + 1) % step == 0, unless i is in mlp_only_layers.
  auto cfg = config_of(R"({"model_type":"qwen2_moe","num_hidden_layers":6,"num_experts":8,
                           "decoder_sparse_step":2,"mlp_only_layers":[3]})");
  CHECK(names(cfg.layer_mlp) ==
        std::vector<std::string>{"dense", "moe", "dense", "dense", "dense", "moe"});
}

TEST_CASE("interleave_moe_layer_step makes every Nth layer MoE (Llama 4 Maverick)") {
  auto cfg = config_of(R"({"model_type":"llama4","text_config":{"model_type":"llama4_text",
    "num_hidden_layers":48,"num_local_experts":128,"num_experts_per_tok":1,
    "interleave_moe_layer_step":2}})");
  REQUIRE(cfg.layer_mlp.size() == 48);
  CHECK(count_of(names(cfg.layer_mlp), "moe") == 24);
  CHECK(names(cfg.layer_mlp)[0] == "dense");
  CHECK(names(cfg.layer_mlp)[1] == "moe");
}

TEST_CASE("Jamba periods place attention and MoE layers") {
  // ai21labs/Jamba-v0.1: 32 layers; attention at i % 8 == 4, MoE at i % 2 == 1.
  auto cfg = config_of(R"({"model_type":"jamba","num_hidden_layers":32,"num_experts":16,
                           "num_experts_per_tok":2,"attn_layer_period":8,"attn_layer_offset":4,
                           "expert_layer_period":2,"expert_layer_offset":1})");
  REQUIRE(cfg.layer_attention.size() == 32);
  CHECK(count_of(names(cfg.layer_attention), "full_attention") == 4);
  CHECK(names(cfg.layer_attention)[4] == "full_attention");
  CHECK(names(cfg.layer_attention)[12] == "full_attention");
  CHECK(names(cfg.layer_attention)[0] == "mamba");
  CHECK(count_of(names(cfg.layer_mlp), "moe") == 16);
  CHECK(names(cfg.layer_mlp)[1] == "moe");
  CHECK(names(cfg.layer_mlp)[4] == "dense");
}

// ---- quantization -----------------------------------------------------------------------

TEST_CASE("quantization_config for GPTQ and AWQ gives bits and group size") {
  auto gptq = config_of(R"({"quantization_config":{"quant_method":"gptq","bits":4,
                            "group_size":128,"desc_act":false,"sym":true}})");
  CHECK(gptq.quant.method == "gptq");
  CHECK(gptq.quant.bits == 4);
  CHECK(gptq.quant.group_size == 128);
  auto awq = config_of(R"({"quantization_config":{"quant_method":"awq","bits":4,
                           "group_size":128,"version":"gemm","zero_point":true}})");
  CHECK(awq.quant.method == "awq");
  CHECK(awq.quant.bits == 4);
  CHECK(awq.quant.group_size == 128);
}

TEST_CASE("compressed-tensors reads num_bits from its config_groups") {
  auto cfg = config_of(R"({"quantization_config":{"quant_method":"compressed-tensors",
    "format":"pack-quantized","config_groups":{"group_0":{"targets":["Linear"],
      "weights":{"num_bits":4,"group_size":128,"type":"int","symmetric":true,
                 "strategy":"group"}}},"ignore":["lm_head"]}})");
  CHECK(cfg.quant.method == "compressed-tensors");
  CHECK(cfg.quant.detail == "pack-quantized");
  CHECK(cfg.quant.bits == 4);
  CHECK(cfg.quant.group_size == 128);
}

TEST_CASE("bitsandbytes 4-bit nf4 is read from load_in_4bit and bnb_4bit_quant_type") {
  auto cfg = config_of(R"({"quantization_config":{"quant_method":"bitsandbytes",
    "load_in_4bit":true,"load_in_8bit":false,"bnb_4bit_quant_type":"nf4",
    "bnb_4bit_use_double_quant":true,"bnb_4bit_compute_dtype":"bfloat16"}})");
  CHECK(cfg.quant.method == "bitsandbytes");
  CHECK(cfg.quant.bits == 4);
  CHECK(cfg.quant.detail == "nf4");
  auto eight = config_of(R"({"quantization_config":{"quant_method":"bitsandbytes",
                             "load_in_8bit":true}})");
  CHECK(eight.quant.bits == 8);
}

TEST_CASE("fp8 and mxfp4 quantization imply their bit widths") {
  // deepseek-ai/DeepSeek-V3 and openai/gpt-oss-20b.
  auto fp8 = config_of(R"({"quantization_config":{"quant_method":"fp8","fmt":"e4m3",
                           "activation_scheme":"dynamic","weight_block_size":[128,128]}})");
  CHECK(fp8.quant.method == "fp8");
  CHECK(fp8.quant.bits == 8);
  auto mxfp4 = config_of(R"({"quantization_config":{"quant_method":"mxfp4",
    "modules_to_not_convert":["model.layers.*.self_attn","model.layers.*.mlp.router"]}})");
  CHECK(mxfp4.quant.method == "mxfp4");
  CHECK(mxfp4.quant.bits == 4);
}

TEST_CASE("MLX's quantization object is read as the mlx method") {
  auto cfg = config_of(R"({"model_type":"llama","quantization":{"group_size":64,"bits":4,
                           "lm_head":{"group_size":64,"bits":8}}})");
  CHECK(cfg.quant.method == "mlx");
  CHECK(cfg.quant.bits == 4);
  CHECK(cfg.quant.group_size == 64);
  REQUIRE(cfg.quant.raw.contains("lm_head"));
  CHECK(cfg.quant.raw["lm_head"]["bits"] == 8);
}

TEST_CASE("expert_dtype fp4 marks routed experts as FP4") {
  CHECK(config_of(R"({"expert_dtype":"fp4"})").quant.fp4_experts);
  CHECK(config_of(R"({"quantization_config":{"quant_method":"fp8","expert_dtype":"fp4"}})")
            .quant.fp4_experts);
  CHECK_FALSE(config_of(R"({"expert_dtype":"bf16"})").quant.fp4_experts);
  CHECK_FALSE(config_of("{}").quant.fp4_experts);
  CHECK(config_of("{}").quant.method.empty());
}

// ---- tolerance and faults ---------------------------------------------------------------

TEST_CASE("bare Infinity, -Infinity and NaN tokens load as strings") {
  auto cfg = config_of(R"({"model_type":"llama","hidden_size":64,"clamp":Infinity,
                           "floor":-Infinity,"scale":NaN,"list":[NaN, 1],
                           "note":"Infinity and -Infinity and NaN stay","esc":"a\"NaN"})");
  CHECK(cfg.hidden_size == 64U);
  CHECK(cfg.raw["clamp"] == "Infinity");
  CHECK(cfg.raw["floor"] == "-Infinity");
  CHECK(cfg.raw["scale"] == "NaN");
  CHECK(cfg.raw["list"][0] == "NaN");
  CHECK(cfg.raw["note"] == "Infinity and -Infinity and NaN stay");
  CHECK(cfg.raw["esc"] == "a\"NaN");
}

TEST_CASE("quote_nonfinite_tokens leaves strings untouched") {
  CHECK(quote_nonfinite_tokens(R"({"a":NaN,"b":"NaN"})") == R"({"a":"NaN","b":"NaN"})");
  CHECK(quote_nonfinite_tokens(R"({"x\"Infinity":-Infinity})") == R"({"x\"Infinity":"-Infinity"})");
  CHECK(quote_nonfinite_tokens(R"({"a":1})") == R"({"a":1})");
}

TEST_CASE("a config that is not a JSON object is bad input") {
  for (std::string_view text : {"[1, 2]", "\"llama\"", "{\"hidden_size\": 1", ""}) {
    auto cfg = parse_model_config("config.json", text);
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error().kind == ErrorKind::bad_input);
    CHECK(cfg.error().what == "config.json");
  }
}

TEST_CASE("a known field with a wrong type is bad input naming the field") {
  auto big = parse_model_config("config.json", R"({"hidden_size":"big"})");
  REQUIRE_FALSE(big);
  CHECK(big.error().kind == ErrorKind::bad_input);
  CHECK(big.error().what == "config.json");
  CHECK(big.error().why.find("'hidden_size'") != std::string::npos);

  auto negative = parse_model_config("config.json", R"({"num_hidden_layers":-2})");
  REQUIRE_FALSE(negative);
  CHECK(negative.error().why.find("'num_hidden_layers'") != std::string::npos);

  auto nested = parse_model_config("config.json", R"({"text_config":{"num_attention_heads":3.5}})");
  REQUIRE_FALSE(nested);
  CHECK(nested.error().why.find("'num_attention_heads'") != std::string::npos);

  auto tie = parse_model_config("config.json", R"({"tie_word_embeddings":"yes"})");
  REQUIRE_FALSE(tie);
  CHECK(tie.error().why.find("'tie_word_embeddings'") != std::string::npos);
}

TEST_CASE("null and integral-float values of known fields are accepted") {
  auto cfg = config_of(R"({"hidden_size":4096.0,"num_key_value_heads":null,
                           "num_attention_heads":32,"sliding_window":null})");
  CHECK(cfg.hidden_size == 4096U);
  CHECK(cfg.num_kv_heads == 32U);
  CHECK_FALSE(cfg.sliding_window.has_value());
}

TEST_CASE("sliding_window false or 0 means no sliding window") {
  for (const char* value : {"false", "0", "\"null\""}) {
    DYNAMIC_SECTION(value) {
      auto cfg = config_of(std::string(R"({"model_type":"mistral","num_hidden_layers":2,
                                           "max_position_embeddings":32768,"sliding_window":)") +
                           value + "}");
      CHECK_FALSE(cfg.sliding_window.has_value());
      CHECK(names(cfg.layer_attention) ==
            std::vector<std::string>{"full_attention", "full_attention"});
    }
  }
}

TEST_CASE("a sliding_window below the context makes every layer sliding (Mistral-7B-v0.1)") {
  auto cfg = config_of(R"({"model_type":"mistral","num_hidden_layers":2,
                           "max_position_embeddings":32768,"sliding_window":4096})");
  CHECK(cfg.sliding_window == 4096U);
  CHECK(names(cfg.layer_attention) ==
        std::vector<std::string>{"sliding_attention", "sliding_attention"});
}

TEST_CASE("use_sliding_window false turns the window off (Qwen2.5)") {
  auto cfg = config_of(R"({"model_type":"qwen2","num_hidden_layers":2,
                           "max_position_embeddings":32768,"sliding_window":4096,
                           "use_sliding_window":false})");
  CHECK(names(cfg.layer_attention) == std::vector<std::string>{"full_attention", "full_attention"});
}
