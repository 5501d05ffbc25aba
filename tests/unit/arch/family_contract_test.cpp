// Family contracts: the YAML schema, its errors (with lines), and shape templates.
#include <catch2/catch.hpp>

#include "mbuild/arch/family_contract.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

constexpr std::string_view k_minimal = R"(family: demo
architectures: [DemoForCausalLM]
size_variants:
  small:
    hidden_size: 64
    num_hidden_layers: 2
    num_attention_heads: 4
    vocab_size: 100
constraints:
  has_bias: "true"
  tied_embeddings: False
tensor_template:
  embedding: model.embed.weight
  lm_head: null
  per_layer:
    q_proj: model.layers.{n}.q.weight
    bias: {name: "model.layers.{n}.q.bias", layers: first}
shape_template:
  q_proj: "[num_heads * head_dim, hidden_dim]"
)";

}  // namespace

TEST_CASE("a contract reads aliases, defaults and quoted booleans") {
  auto c = parse_family_contract("demo.yaml", k_minimal);
  REQUIRE(c);
  REQUIRE(c->size_variants.size() == 1);
  const SizeVariant& v = c->size_variants.front();
  CHECK(v.dim("hidden_dim") == 64);
  CHECK(v.dim("num_layers") == 2);
  CHECK(v.dim("num_kv_heads") == 4);  // defaults to num_heads
  CHECK(v.dim("head_dim") == 16);     // defaults to hidden_dim / num_heads
  CHECK(c->constraints.has_bias == true);
  CHECK(c->constraints.tied_embeddings == false);
  CHECK(!c->tensors.lm_head);
  REQUIRE(c->tensors.per_layer.size() == 2);
  CHECK(c->tensors.per_layer[1].layers == "first");
}

TEST_CASE("a contract's errors name the file, the key and the line") {
  SECTION("unknown enum value") {
    auto c = parse_family_contract("x.yaml", R"(family: x
architectures: [X]
size_variants:
  a: {hidden_dim: 8, num_layers: 1, vocab_size: 4}
constraints:
  attention_type: grouped
tensor_template: {per_layer: {}}
)");
    REQUIRE(!c);
    CHECK(c.error().kind == ErrorKind::bad_input);
    CHECK(c.error().message().find("x.yaml:6") != std::string::npos);
    CHECK(c.error().message().find("constraints.attention_type") != std::string::npos);
    CHECK(c.error().message().find("grouped") != std::string::npos);
  }
  SECTION("missing required key") {
    auto c = parse_family_contract("x.yaml",
                                   "family: x\narchitectures: [X]\n"
                                   "size_variants:\n  a: {hidden_dim: 8}\n"
                                   "tensor_template: {per_layer: {}}\n");
    REQUIRE(!c);
    CHECK(c.error().message().find("x.yaml:4") != std::string::npos);
    CHECK(c.error().message().find("num_layers") != std::string::npos);
  }
  SECTION("missing top-level key") {
    auto c = parse_family_contract("x.yaml", "family: x\narchitectures: [X]\n");
    REQUIRE(!c);
    CHECK(c.error().message().find("size_variants: required key is missing") != std::string::npos);
  }
  SECTION("YAML syntax") {
    auto c = parse_family_contract("x.yaml", "family: x\narchitectures: [X\nsize_variants: 3\n");
    REQUIRE(!c);
    CHECK(c.error().message().find("x.yaml:") != std::string::npos);
    CHECK(c.error().message().find("not valid YAML") != std::string::npos);
  }
  SECTION("a boolean that is not one") {
    std::string text(k_minimal);
    text.replace(text.find("\"true\""), 6, "maybe");
    auto c = parse_family_contract("x.yaml", text);
    REQUIRE(!c);
    CHECK(c.error().message().find("x.yaml:10") != std::string::npos);
  }
  SECTION("a role's layers naming no layer kind") {
    auto c = parse_family_contract("x.yaml", R"(family: x
architectures: [X]
size_variants:
  a: {hidden_dim: 8, num_layers: 1, vocab_size: 4}
tensor_template:
  per_layer:
    in_proj: {name: "m.layers.{n}.mamba.in_proj.weight", layers: mamba}
    q_proj: {name: "m.layers.{n}.q_proj.weight", layers: attn}
)");
    REQUIRE(!c);
    CHECK(c.error().message().find("x.yaml:8") != std::string::npos);
    CHECK(c.error().message().find("'attn' is not all, first") != std::string::npos);
  }
  SECTION("a shape template naming nothing") {
    std::string text(k_minimal);
    text.replace(text.find("num_heads * head_dim"), 20, "num_headz");
    auto c = parse_family_contract("x.yaml", text);
    REQUIRE(!c);
    CHECK(c.error().message().find("x.yaml:19") != std::string::npos);
    CHECK(c.error().message().find("shape_template.q_proj") != std::string::npos);
  }
}

TEST_CASE("shape templates evaluate with muParser") {
  const std::map<std::string, double, std::less<>> dims{
      {"num_heads", 64}, {"head_dim", 128}, {"hidden_dim", 8192}};
  auto s = evaluate_shape("t", "[num_heads * head_dim, hidden_dim]", dims);
  REQUIRE(s);
  CHECK(*s == std::vector<uint64_t>{8192, 8192});
  CHECK(evaluate_shape("t", "[hidden_dim / 3]", dims).error().why.find("not a non-negative") !=
        std::string::npos);
  CHECK(!evaluate_shape("t", "hidden_dim", dims));
}

TEST_CASE("the built-in registry holds every contracts/ file, and the folder loads the same") {
  const auto& builtin = builtin_family_contracts();
  auto loaded = load_family_contracts(test::data_dir() / ".." / ".." / "contracts");
  REQUIRE(loaded);
  CHECK(builtin.size() == loaded->size());
  CHECK(builtin.size() >= 20);
}

TEST_CASE("a registry folder skips files starting with _ and fails on a malformed one") {
  auto seed = load_family_contracts(test::data_dir() / "contracts" / "seed");
  REQUIRE(seed);
  REQUIRE(seed->size() == 1);
  CHECK(seed->front().has_gguf_template);
  CHECK(seed->front().has_certification);
  auto bad = load_family_contracts(test::data_dir() / "contracts" / "malformed");
  REQUIRE(!bad);
  CHECK(bad.error().message().find("bad_enum.yaml:6") != std::string::npos);
}
