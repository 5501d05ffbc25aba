// Contracts: loading hand-written and emitted model configs, malformed files, self-consistency.
#include "mbuild/arch/contract.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace mbuild;

namespace {

std::filesystem::path contract_path(const std::string& stem) {
  return test::corpus_dir() / "contracts" / (stem + ".json");
}

// A minimal well-formed contract; `extra_specs` is spliced into the attention entry's specs.
std::string contract_json(const std::string& top = "", const std::string& extra_specs = "") {
  return R"({"model_id":"org_tiny","hidden_size":4,"num_layers":1,"vocab_size":8,)" + top +
         R"("total_params":100,"layer_types":[
           {"name":"attention","class":"GroupedQueryAttentionLayer","count":1,
            "specs":{"hidden_size":4,"num_heads":2,"num_kv_heads":1,"head_dim":2,)" +
         extra_specs + R"("parameter_count":68}},
           {"name":"embedding","class":"EmbeddingLayer","count":1,
            "specs":{"vocab_size":8,"hidden_size":4,"parameter_count":32}}]})";
}

Contract parsed(const std::string& text, const std::string& file = "org_tiny.json") {
  auto c = parse_contract(file, text);
  if (!c) {
    FAIL("contract rejected: " << c.error().message());
  }
  return std::move(*c);
}

Error rejected(const std::string& text) {
  auto c = parse_contract("org_tiny.json", text);
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == ErrorKind::bad_input);
  return c.error();
}

// A copy: callers pass the temporary that check_contract() returns.
ContractCheck check_named(const std::vector<ContractCheck>& checks, std::string_view name) {
  for (const ContractCheck& c : checks) {
    if (c.name == name) {
      return c;
    }
  }
  FAIL("no check " << name);
  return {};
}

}  // namespace

TEST_CASE("the hand-written Llama-3.3-70B contract loads and adds up to its own total") {
  auto c = load_contract(contract_path("meta-llama_Llama-3.3-70B-Instruct"));
  REQUIRE(c);
  CHECK(c->schema_version == 0);
  CHECK(c->model_id == "meta-llama_Llama-3.3-70B-Instruct");
  CHECK(c->hf_model_id == "meta-llama/Llama-3.3-70B-Instruct");
  CHECK(c->total_params == 69'502'369'792ULL);
  REQUIRE(c->layer_types.size() == 4);
  CHECK(c->layer_types[0].layer_class == "GroupedQueryAttentionLayer");
  CHECK(c->field("num_kv_heads") == nlohmann::ordered_json(8));
  CHECK(c->field("intermediate_size") == nlohmann::ordered_json(28672));
  // 80 x 150,994,944 + 80 x 704,643,072 + 80 x 8,192 + 1,050,673,152 = 69,502,369,792: the
  // contract is self-consistent, it just leaves out lm_head and most norms.
  auto checks = check_contract(*c);
  CHECK(check_named(checks, "accounting").status == ContractCheckStatus::pass);
  CHECK(check_named(checks, "classes").status == ContractCheckStatus::pass);
  CHECK(check_named(checks, "model_id").status == ContractCheckStatus::pass);
}

TEST_CASE("every corpus contract loads") {
  for (const char* stem :
       {"TinyLlama_TinyLlama-1.1B-Chat-v1.0", "meta-llama_Llama-3.1-405B-Instruct",
        "meta-llama_Llama-3.3-70B-Instruct", "mistralai_Mistral-7B-v0.1", "openai_GPT-OSS-120B"}) {
    INFO(stem);
    auto c = load_contract(contract_path(stem));
    REQUIRE(c);
    CHECK(c->model_id == stem);
    CHECK(check_named(check_contract(*c), "model_id").status == ContractCheckStatus::pass);
  }
}

TEST_CASE("a contract without parameter counts skips the accounting check") {
  auto c = load_contract(contract_path("meta-llama_Llama-3.1-405B-Instruct"));
  REQUIRE(c);
  const ContractCheck a = check_named(check_contract(*c), "accounting");
  CHECK(a.status == ContractCheckStatus::info);
  INFO(a.detail);
  CHECK(a.detail.find("4 of 4") != std::string::npos);
}

TEST_CASE("GPT-OSS contract reads sliding window and MoE fields from its layer types") {
  auto c = load_contract(contract_path("openai_GPT-OSS-120B"));
  REQUIRE(c);
  CHECK(c->field("num_heads") == nlohmann::ordered_json(64));  // num_query_heads
  CHECK(c->field("sliding_window") == nlohmann::ordered_json(128));
  CHECK(c->field("num_experts") == nlohmann::ordered_json(128));
  CHECK(c->field("top_k") == nlohmann::ordered_json(4));
  CHECK(c->field("moe_intermediate_size") == nlohmann::ordered_json(2880));
  CHECK_FALSE(c->field("intermediate_size"));  // only the MoE layer names one
}

TEST_CASE("an emitted contract keeps its schema_version and unknown fields") {
  Contract c = parsed(contract_json(R"("schema_version":1,"future_field":{"a":1},)"));
  CHECK(c.schema_version == 1);
  CHECK(c.raw["future_field"]["a"] == 1);
  CHECK(check_named(check_contract(c), "schema_version").status == ContractCheckStatus::pass);
  // 1 x 68 + 1 x 32 = 100 = total_params.
  CHECK(check_named(check_contract(c), "accounting").status == ContractCheckStatus::pass);
}

TEST_CASE("a newer schema_version loads with a note") {
  Contract c = parsed(contract_json(R"("schema_version":7,)"));
  CHECK(check_named(check_contract(c), "schema_version").status == ContractCheckStatus::info);
}

TEST_CASE("a contract missing a required field is malformed and names it") {
  std::string text = contract_json();
  text.replace(text.find(R"("total_params":100,)"), 19, "");
  CHECK(rejected(text).why.find("'total_params'") != std::string::npos);
  CHECK(rejected(R"({"model_id":"x","hidden_size":4,"num_layers":1,"vocab_size":8,
                     "total_params":1})")
            .why.find("'layer_types'") != std::string::npos);
  CHECK(rejected(R"({"model_id":"x","hidden_size":4,"num_layers":1,"vocab_size":8,
                     "total_params":1,"layer_types":[{"name":"a","count":1,"specs":{}}]})")
            .why.find("'layer_types[0].class'") != std::string::npos);
}

TEST_CASE("a contract field of the wrong type is malformed and names it") {
  std::string text = contract_json();
  text.replace(text.find(R"("hidden_size":4,"num_layers")"), 15, R"("hidden_size":"4")");
  const Error e = rejected(text);
  CHECK(e.what == "org_tiny.json");
  CHECK(e.why.find("'hidden_size'") != std::string::npos);
  CHECK(rejected(contract_json(R"("validated":"yes",)")).why.find("'validated'") !=
        std::string::npos);
  CHECK(rejected(contract_json("", R"("head_dim":-2,)"))
            .why.find("'layer_types[0].specs.head_dim'") != std::string::npos);
  CHECK(rejected("[1, 2]").why.find("not a JSON object") != std::string::npos);
  CHECK(rejected("{\"model_id\":").why.find("not valid JSON") != std::string::npos);
}

TEST_CASE("kv heads that do not divide the heads make a contract malformed") {
  std::string text = contract_json();
  text.replace(text.find(R"("num_heads":2)"), 13, R"("num_heads":3)");
  text.replace(text.find(R"("num_kv_heads":1)"), 16, R"("num_kv_heads":2)");
  CHECK(rejected(text).why.find("'layer_types[0].specs.num_kv_heads'") != std::string::npos);
}

TEST_CASE("top_k above num_experts makes a contract malformed") {
  const std::string text = R"({"model_id":"m","hidden_size":4,"num_layers":1,"vocab_size":8,
    "total_params":1,"layer_types":[{"name":"moe","class":"MoELayer","count":1,
    "specs":{"num_experts":4,"top_k":8}}]})";
  CHECK(rejected(text).why.find("'layer_types[0].specs.top_k'") != std::string::npos);
}

TEST_CASE("a contract whose layer types do not add up to total_params fails accounting") {
  std::string text = contract_json();
  text.replace(text.find(R"("total_params":100)"), 18, R"("total_params":101)");
  const ContractCheck a = check_named(check_contract(parsed(text)), "accounting");
  CHECK(a.status == ContractCheckStatus::fail);
  CHECK(a.detail.find("100 but total_params is 101") != std::string::npos);
}

TEST_CASE("a supported class outside the catalog fails, an unsupported one is noted") {
  std::string text = contract_json();
  text.replace(text.find("EmbeddingLayer"), 14, "MysteryLayer");
  CHECK(check_named(check_contract(parsed(text)), "classes").status == ContractCheckStatus::fail);
  text.replace(text.find(R"("count":1,
            "specs":{"vocab_size")"),
               10, R"("count":1,"supported":false,)");
  const ContractCheck c = check_named(check_contract(parsed(text)), "classes");
  CHECK(c.status == ContractCheckStatus::pass);
  CHECK(c.detail.find("MysteryLayer") != std::string::npos);
  // The classes are the catalog's: one that also knows MysteryLayer accepts it.
  auto catalog = std::make_optional(builtin_catalog());
  CatalogClass mystery;
  mystery.name = "MysteryLayer";
  catalog->classes.push_back(mystery);
  const std::string marker = R"("supported":false,)";
  text.replace(text.find(marker), marker.size(), "");
  CHECK(check_named(check_contract(parsed(text), *catalog), "classes").status ==
        ContractCheckStatus::pass);
}

TEST_CASE("a model_id different from the file stem fails") {
  const ContractCheck c =
      check_named(check_contract(parsed(contract_json(), "/tmp/other_name.json")), "model_id");
  CHECK(c.status == ContractCheckStatus::fail);
  CHECK(c.detail.find("other_name") != std::string::npos);
}

TEST_CASE("a contract file that does not exist is not found") {
  auto c = load_contract(test::data_dir() / "no-such-contract.json");
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == ErrorKind::not_found);
}
