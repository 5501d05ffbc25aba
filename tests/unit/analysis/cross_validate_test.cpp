// Cross-validation of a contract against config.json: every status and both lists.
#include "mbuild/analysis/cross_validate.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace mbuild;

namespace {

ModelConfig config_of(const std::string& text) {
  auto c = parse_model_config("config.json", text);
  if (!c) {
    FAIL("config rejected: " << c.error().message());
  }
  return std::move(*c);
}

Contract contract_of(const std::string& text) {
  auto c = parse_contract("m.json", text);
  if (!c) {
    FAIL("contract rejected: " << c.error().message());
  }
  return std::move(*c);
}

// meta-llama/Llama-3.3-70B-Instruct config.json, the fields that matter here.
const std::string k_llama_config = R"({"model_type":"llama","architectures":["LlamaForCausalLM"],
  "hidden_size":8192,"intermediate_size":28672,"num_attention_heads":64,"num_hidden_layers":80,
  "num_key_value_heads":8,"max_position_embeddings":131072,"rope_theta":500000.0,
  "rms_norm_eps":1e-05,"vocab_size":128256,"tie_word_embeddings":false,"use_cache":true,
  "attention_dropout":0.0,"rope_scaling":{"factor":8.0,"rope_type":"llama3"},
  "torch_dtype":"bfloat16"})";

// A contract with top-level extras `top` and attention specs `specs`.
std::string llama_contract(const std::string& top, const std::string& specs) {
  return R"({"model_id":"m","hidden_size":8192,"num_layers":80,"vocab_size":128256,)" + top +
         R"("total_params":1,"layer_types":[
    {"name":"attention","class":"GroupedQueryAttentionLayer","count":80,"specs":{)" +
         specs + R"("hidden_size":8192}},
    {"name":"feedforward","class":"GatedMLPLayer","count":80,
     "specs":{"hidden_size":8192,"intermediate_size":28672}}]})";
}

const CrossValidationEntry* entry(const CrossValidation& cv, std::string_view field) {
  for (const CrossValidationEntry& e : cv.entries) {
    if (e.field == field) {
      return &e;
    }
  }
  return nullptr;
}

bool listed(const std::vector<std::string>& list, std::string_view prefix) {
  for (const std::string& s : list) {
    if (s.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("equal counts match through the alias table") {
  // GPT-2 spells the dimensions n_embd / n_layer / n_head / n_positions.
  auto cfg = config_of(R"({"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,
    "n_positions":1024,"vocab_size":50257})");
  auto c = contract_of(R"({"model_id":"m","hidden_size":768,"num_layers":12,"vocab_size":50257,
    "max_position_embeddings":1024,"total_params":1,"layer_types":[{"name":"attention",
    "class":"AttentionLayer","count":12,"specs":{"num_heads":12,"head_dim":64}}]})");
  CrossValidation cv = cross_validate(c, cfg);
  for (const char* f : {"hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim",
                        "vocab_size", "max_position_embeddings"}) {
    INFO(f);
    const auto* e = entry(cv, f);
    if (std::string_view(f) == "num_kv_heads") {
      REQUIRE(e);
      CHECK(e->status == FieldStatus::hf_only);  // the contract does not state it
      continue;
    }
    REQUIRE(e);
    CHECK(e->status == FieldStatus::match);
  }
  CHECK(entry(cv, "hidden_size")->contract == "768");
  CHECK(entry(cv, "hidden_size")->hf == "768");
  CHECK(cv.count(FieldStatus::mismatch) == 0);
}

TEST_CASE("a different count is a mismatch") {
  CrossValidation cv =
      cross_validate(contract_of(llama_contract("", R"("num_heads":64,"num_kv_heads":4,)")),
                     config_of(k_llama_config));
  const auto* e = entry(cv, "num_kv_heads");
  REQUIRE(e);
  CHECK(e->contract == "4");
  CHECK(e->hf == "8");
  CHECK(e->status == FieldStatus::mismatch);
  CHECK(entry(cv, "num_heads")->status == FieldStatus::match);
  CHECK(cv.count(FieldStatus::mismatch) == 1);
}

TEST_CASE("rope_theta within 1 matches, within 1 percent is approximate, else mismatch") {
  auto cfg = config_of(k_llama_config);
  auto theta = [&](const std::string& v) {
    CrossValidation cv =
        cross_validate(contract_of(llama_contract(R"("rope_theta":)" + v + ",", "")), cfg);
    const auto* e = entry(cv, "rope_theta");
    REQUIRE(e);
    CHECK(e->hf == "500000");
    return e->status;
  };
  CHECK(theta("500000") == FieldStatus::match);
  CHECK(theta("500000.9") == FieldStatus::match);
  CHECK(theta("503000") == FieldStatus::approximate);  // 0.6 %
  CHECK(theta("496000") == FieldStatus::approximate);  // 0.8 %
  CHECK(theta("510000") == FieldStatus::mismatch);     // 2 %
  CHECK(theta("10000") == FieldStatus::mismatch);
}

TEST_CASE("rope_theta at the edges: closer than 1 matches, under 1 % is approximate") {
  auto cfg = config_of(k_llama_config);  // rope_theta 500000
  auto theta = [&](const std::string& v) {
    CrossValidation cv =
        cross_validate(contract_of(llama_contract(R"("rope_theta":)" + v + ",", "")), cfg);
    const auto* e = entry(cv, "rope_theta");
    REQUIRE(e);
    return e->status;
  };
  CHECK(theta("500000.999") == FieldStatus::match);
  CHECK(theta("500001.001") == FieldStatus::approximate);
  CHECK(theta("504950") == FieldStatus::approximate);  // 0.99 %
  CHECK(theta("495050") == FieldStatus::approximate);  // -0.99 %
  CHECK(theta("505050") == FieldStatus::mismatch);     // 1.01 %
  CHECK(theta("494950") == FieldStatus::mismatch);     // -1.01 %
}

TEST_CASE("norm eps is compared however the config spells it") {
  auto check = [](const std::string& config_key, const std::string& contract_eps) {
    auto cfg = config_of(R"({"model_type":"x","hidden_size":8,")" + config_key + R"(":1e-05})");
    CrossValidation cv =
        cross_validate(contract_of(llama_contract(R"("norm_eps":)" + contract_eps + ",", "")), cfg);
    const auto* e = entry(cv, "norm_eps");
    REQUIRE(e);
    return e->status;
  };
  CHECK(check("rms_norm_eps", "1e-5") == FieldStatus::match);
  CHECK(check("layer_norm_eps", "0.00001") == FieldStatus::match);
  CHECK(check("layer_norm_epsilon", "1e-5") == FieldStatus::match);
  CHECK(check("rms_norm_eps", "1e-6") == FieldStatus::mismatch);
}

TEST_CASE("norm eps is equal when closer than 1e-12, and a mismatch shows both values apart") {
  auto cfg = config_of(R"({"model_type":"x","hidden_size":8,"rms_norm_eps":1e-05})");
  auto row = [&](const std::string& contract_eps) {
    CrossValidation cv =
        cross_validate(contract_of(llama_contract(R"("norm_eps":)" + contract_eps + ",", "")), cfg);
    const auto* e = entry(cv, "norm_eps");
    REQUIRE(e);
    return *e;
  };
  CHECK(row("1.00000009e-05").status == FieldStatus::match);     // 0.9e-12 apart
  CHECK(row("0.99999991e-05").status == FieldStatus::match);     // 0.9e-12 apart
  CHECK(row("1.00000011e-05").status == FieldStatus::mismatch);  // 1.1e-12 apart
  CHECK(row("0.99999989e-05").status == FieldStatus::mismatch);  // 1.1e-12 apart
  CHECK(row("1e-5").status == FieldStatus::match);
  const CrossValidationEntry near = row("1.00000011e-05");
  CHECK(near.contract == "1.00000011e-05");
  CHECK(near.hf == "1e-05");
  // A tiny epsilon is not equal to zero-ish neighbours just because both are small.
  auto tiny = config_of(R"({"model_type":"x","hidden_size":8,"layer_norm_eps":1e-12})");
  CrossValidation cv =
      cross_validate(contract_of(llama_contract(R"("norm_eps":1e-12,)", "")), tiny);
  CHECK(entry(cv, "norm_eps")->status == FieldStatus::match);
}

TEST_CASE("model_type is information, never a mismatch") {
  CrossValidation cv =
      cross_validate(contract_of(llama_contract("", "")), config_of(k_llama_config));
  const auto* e = entry(cv, "model_type");
  REQUIRE(e);
  CHECK(e->status == FieldStatus::info);
  CHECK(e->contract == "GroupedQueryAttentionLayer");
  CHECK(e->hf == "llama");
  CrossValidation named = cross_validate(
      contract_of(llama_contract(R"("model_type":"llama",)", "")), config_of(k_llama_config));
  CHECK(entry(named, "model_type")->contract == "llama");
  CHECK(entry(named, "model_type")->status == FieldStatus::info);
}

TEST_CASE("fields only the contract states are listed as contract_only") {
  // A sliding window the Llama config does not have.
  auto c = contract_of(R"({"model_id":"m","hidden_size":8192,"num_layers":80,"vocab_size":128256,
    "total_params":1,"layer_types":[{"name":"attention","class":"SlidingWindowAttentionLayer",
    "count":80,"specs":{"num_query_heads":64,"num_kv_heads":8,"sliding_window":4096}}]})");
  CrossValidation cv = cross_validate(c, config_of(k_llama_config));
  CHECK(cv.listed(FieldStatus::contract_only) == std::vector<std::string>{"sliding_window=4096"});
  const auto* row = entry(cv, "sliding_window");
  REQUIRE(row);
  CHECK(row->status == FieldStatus::contract_only);
  CHECK(row->contract == "4096");
  CHECK(row->hf.empty());
  CHECK(entry(cv, "num_heads")->status == FieldStatus::match);  // read from num_query_heads
}

TEST_CASE("config fields that change the estimate and the contract leaves out are hf_only") {
  CrossValidation cv =
      cross_validate(contract_of(llama_contract("", "")), config_of(k_llama_config));
  CHECK(listed(cv.listed(FieldStatus::hf_only),
               R"(rope_scaling={"factor":8.0,"rope_type":"llama3"})"));
  CHECK(listed(cv.listed(FieldStatus::hf_only), "tie_word_embeddings=false"));
  CHECK(listed(cv.listed(FieldStatus::hf_only), "attention_dropout=0.0"));
  CHECK(listed(cv.listed(FieldStatus::hf_only), "use_cache=true"));
  CHECK(listed(cv.listed(FieldStatus::hf_only), "rope_theta=500000"));
  CHECK(listed(cv.listed(FieldStatus::hf_only), "norm_eps=1e-05"));
  CHECK(listed(cv.listed(FieldStatus::hf_only), "max_position_embeddings=131072"));
  CHECK(cv.count(FieldStatus::contract_only) == 0);
  // Stated by the contract: compared, not listed.
  CrossValidation stated = cross_validate(
      contract_of(llama_contract(R"("tie_word_embeddings":false,"rope_theta":500000,)", "")),
      config_of(k_llama_config));
  CHECK_FALSE(listed(stated.listed(FieldStatus::hf_only), "tie_word_embeddings"));
  CHECK_FALSE(listed(stated.listed(FieldStatus::hf_only), "rope_theta"));
  CHECK(entry(stated, "tie_word_embeddings")->status == FieldStatus::match);
}

TEST_CASE("MoE fields come from the MoE layer and compare with the config's expert fields") {
  // openai/gpt-oss-120b sizes its experts with intermediate_size (no moe_intermediate_size).
  auto cfg = config_of(R"({"model_type":"gpt_oss","hidden_size":2880,"intermediate_size":2880,
    "num_attention_heads":64,"num_key_value_heads":8,"head_dim":64,"num_hidden_layers":36,
    "num_local_experts":128,"num_experts_per_tok":4,"sliding_window":128,"vocab_size":201088,
    "rope_theta":150000})");
  auto c = contract_of(R"({"model_id":"m","hidden_size":2880,"num_layers":36,"vocab_size":201088,
    "total_params":1,"layer_types":[{"name":"MoE","class":"MoELayer","count":36,
    "specs":{"num_experts":128,"top_k":2,"hidden_size":2880,"intermediate_size":2880}}]})");
  CrossValidation cv = cross_validate(c, cfg);
  CHECK(entry(cv, "num_experts")->status == FieldStatus::match);
  CHECK(entry(cv, "moe_intermediate_size")->status == FieldStatus::match);
  CHECK(entry(cv, "top_k")->status == FieldStatus::mismatch);
  // The MoE width is not the dense width: config.json's intermediate_size stays one-sided.
  CHECK(entry(cv, "intermediate_size")->status == FieldStatus::hf_only);
  CHECK(listed(cv.listed(FieldStatus::hf_only), "sliding_window=128"));
}

TEST_CASE("status names are the report's words") {
  CHECK(field_status_name(FieldStatus::match) == "match");
  CHECK(field_status_name(FieldStatus::approximate) == "approximate");
  CHECK(field_status_name(FieldStatus::mismatch) == "mismatch");
  CHECK(field_status_name(FieldStatus::info) == "info");
  CHECK(field_status_name(FieldStatus::contract_only) == "contract_only");
  CHECK(field_status_name(FieldStatus::hf_only) == "hf_only");
}

TEST_CASE("one-sided rows follow the compared ones and name only the side that states them") {
  CrossValidation cv =
      cross_validate(contract_of(llama_contract("", "")), config_of(k_llama_config));
  bool one_sided = false;
  for (const CrossValidationEntry& e : cv.entries) {
    INFO(e.field);
    if (!e.compared()) {
      one_sided = true;
      CHECK((e.status == FieldStatus::hf_only ? e.contract : e.hf).empty());
    } else {
      CHECK_FALSE(one_sided);  // compared rows first
    }
  }
  CHECK(cv.compared() + cv.count(FieldStatus::contract_only) + cv.count(FieldStatus::hf_only) ==
        cv.entries.size());
  CHECK(entry(cv, "rope_scaling")->status == FieldStatus::hf_only);
  CHECK(entry(cv, "rope_scaling")->hf == R"({"factor":8.0,"rope_type":"llama3"})");
}
