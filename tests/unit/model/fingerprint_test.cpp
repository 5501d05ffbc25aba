// The architecture fingerprint: SHA-256 itself, and what the fingerprint is stable under and
// what changes it.
#include <catch2/catch.hpp>

#include "mbuild/model/fingerprint.hpp"

using namespace mbuild;

namespace {

// meta-llama/Llama-3.1-8B's config.json, as published.
constexpr std::string_view k_llama_base = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "hidden_act": "silu", "hidden_size": 4096,
  "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 131072,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32,
  "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})";

// meta-llama/Llama-3.1-8B-Instruct's config.json: the same architecture, three EOS tokens and
// a later transformers version.
constexpr std::string_view k_llama_instruct = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.42.3", "use_cache": true, "vocab_size": 128256})";

std::string fp(std::string_view text) {
  auto c = parse_model_config("config.json", text);
  REQUIRE(c);
  return fingerprint(*c);
}

}  // namespace

TEST_CASE("SHA-256 gives the FIPS 180-2 test vectors") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("the fingerprint is 16 hex digits of SHA-256 over the sorted compact fields") {
  auto c = parse_model_config("config.json", k_llama_base);
  REQUIRE(c);
  const std::string canonical = fingerprint_fields(*c).dump();
  CHECK(canonical ==
        R"({"head_dim":128,"hidden_size":4096,"intermediate_size":14336,"model_type":"llama",)"
        R"("num_heads":32,"num_kv_heads":8,"num_layers":32,"tie_word_embeddings":false,)"
        R"("vocab_size":128256})");
  CHECK(fingerprint(*c) == sha256_hex(canonical).substr(0, 16));
  CHECK(fingerprint(*c).size() == 16);
}

TEST_CASE("the fingerprint is equal across checkpoints of one architecture") {
  CHECK(fp(k_llama_base) == fp(k_llama_instruct));
}

TEST_CASE("the fingerprint is stable under formatting, key order, aliases and nesting") {
  const std::string base = fp(k_llama_base);
  SECTION("whitespace and key order") {
    CHECK(fp(R"({"vocab_size":128256,"num_key_value_heads":8,"num_hidden_layers":32,)"
             R"("num_attention_heads":32,"model_type":"llama","intermediate_size":14336,)"
             R"("hidden_size":4096,"tie_word_embeddings":false})") == base);
  }
  SECTION("aliases") {
    CHECK(fp(R"({"model_type":"llama","n_embd":4096,"n_layer":32,"n_head":32,)"
             R"("num_key_value_heads":8,"intermediate_size":14336,"vocab_size":128256,)"
             R"("tie_word_embeddings":false})") == base);
  }
  SECTION("text_config nesting") {
    CHECK(fp(R"({"model_type":"llava","architectures":["X"],"text_config":{)"
             R"("model_type":"llama","hidden_size":4096,"num_hidden_layers":32,)"
             R"("num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":14336,)"
             R"("vocab_size":128256,"tie_word_embeddings":false}})") == base);
  }
}

TEST_CASE("the fingerprint changes with every shape field") {
  const std::string base = fp(k_llama_base);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("hidden_size": 4096)", R"("hidden_size": 4608)"},
           {R"("num_hidden_layers": 32)", R"("num_hidden_layers": 31)"},
           {R"("num_attention_heads": 32)", R"("num_attention_heads": 16)"},
           {R"("num_key_value_heads": 8)", R"("num_key_value_heads": 4)"},
           {R"("intermediate_size": 14336)", R"("intermediate_size": 14337)"},
           {R"("vocab_size": 128256)", R"("vocab_size": 128257)"},
           {R"("tie_word_embeddings": false)", R"("tie_word_embeddings": true)"},
           {R"("model_type": "llama")", R"("model_type": "mistral")"},
           {R"("mlp_bias": false)", R"("mlp_bias": false, "head_dim": 64)"},
       }) {
    DYNAMIC_SECTION(to) {
      std::string text(k_llama_base);
      const size_t at = text.find(from);
      REQUIRE(at != std::string::npos);
      text.replace(at, from.size(), to);
      CHECK(fp(text) != base);
    }
  }
}
