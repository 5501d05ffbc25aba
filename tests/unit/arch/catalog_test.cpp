// The layer catalog as data: each built-in formula against numbers worked by hand from the
// estimator's formulas (DESIGN.md "Layer catalog") on real model shapes, argument checks,
// catalog files (version 2 and version 1), and the 2^53 exactness guard.
#include "mbuild/arch/catalog.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace mbuild;
using nlohmann::ordered_json;

namespace {

const CatalogClass& builtin(const std::string& name) {
  const CatalogClass* c = builtin_catalog().find(name);
  REQUIRE(c != nullptr);
  return *c;
}

int64_t count(const std::string& cls, const ordered_json& specs) {
  auto n = evaluate_param_count(builtin(cls), specs);
  if (!n) {
    FAIL(cls << ": " << n.error().message());
  }
  return *n;
}

// The messages of check_arguments, for matching.
std::vector<std::string> problems(const std::string& cls, const ordered_json& specs) {
  std::vector<std::string> out;
  for (const ArgumentProblem& p : check_arguments(builtin(cls), specs)) {
    out.push_back(p.message);
  }
  return out;
}

Error parse_error(const std::string& text) {
  auto c = parse_catalog("cat.json", text);
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == ErrorKind::bad_input);
  CHECK(c.error().what == "cat.json");
  return c.error();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("EmbeddingLayer is vocab_size x hidden_size") {
  // Llama-3-70B: V = 128256, h = 8192 -> 128256 * 8192 = 1,050,673,152.
  CHECK(count("EmbeddingLayer", {{"vocab_size", 128256}, {"hidden_size", 8192}}) == 1050673152);
}

TEST_CASE("AttentionLayer is 4 h^2 whatever its heads") {
  // GPT-2: h = 768 -> 4 * 589,824 = 2,359,296; heads and head_dim do not enter.
  CHECK(count("AttentionLayer", {{"hidden_size", 768}, {"num_heads", 12}, {"head_dim", 64}}) ==
        2359296);
  CHECK(count("AttentionLayer", {{"hidden_size", 768}, {"num_heads", 1}, {"head_dim", 1}}) ==
        2359296);
}

TEST_CASE("GroupedQueryAttentionLayer is h*nh*d + 2*h*nkv*d + h^2") {
  // Llama-3-70B: 8192*64*128 = 67,108,864; 2*8192*8*128 = 16,777,216; 8192^2 = 67,108,864;
  // sum 150,994,944.
  CHECK(count("GroupedQueryAttentionLayer", {{"layer_idx", 3},
                                             {"hidden_size", 8192},
                                             {"num_heads", 64},
                                             {"num_kv_heads", 8},
                                             {"head_dim", 128}}) == 150994944);
}

TEST_CASE("SlidingWindowAttentionLayer adds nh*d + 2*nkv*d + h with bias, nothing for sinks") {
  // Qwen2.5-7B: h = 3584, nh = 28, nkv = 4, d = 128 (nh*d = 3584, nkv*d = 512).
  // 2*3584*3584 = 25,690,112; 2*3584*512 = 3,670,016; without bias 29,360,128.
  // Bias: 3584 + 2*512 + 3584 = 8,192; with bias 29,368,320.
  ordered_json specs = {
      {"hidden_size", 3584}, {"num_query_heads", 28}, {"num_kv_heads", 4}, {"head_dim", 128}};
  CHECK(count("SlidingWindowAttentionLayer", specs) == 29360128);
  specs["has_bias"] = true;
  CHECK(count("SlidingWindowAttentionLayer", specs) == 29368320);
  specs["num_sinks"] = 64;
  specs["sliding_window"] = 4096;
  CHECK(count("SlidingWindowAttentionLayer", specs) == 29368320);
  specs["sliding_window"] = nullptr;
  CHECK(count("SlidingWindowAttentionLayer", specs) == 29368320);
}

TEST_CASE("MLPLayer is p*h*I with p 2 by default") {
  // GPT-2: h = 768, I = 3072: 2*768*3072 = 4,718,592; with p = 3, 7,077,888.
  CHECK(count("MLPLayer", {{"hidden_size", 768}, {"intermediate_size", 3072}}) == 4718592);
  CHECK(count("MLPLayer",
              {{"hidden_size", 768}, {"intermediate_size", 3072}, {"num_projections", 3}}) ==
        7077888);
}

TEST_CASE("GatedMLPLayer is 3*h*I") {
  // Llama-3-70B: h = 8192, I = 28672: 8192*28672 = 234,881,024; x3 = 704,643,072.
  CHECK(count("GatedMLPLayer", {{"hidden_size", 8192}, {"intermediate_size", 28672}}) == 704643072);
}

TEST_CASE("MoELayer is the router plus (E + Es) experts") {
  // DeepSeek-V2-Lite: h = 2048, I = 1408, E = 64, Es = 2, p = 3, no bias.
  // Router 2048*64 = 131,072. Expert 3*2048*1408 = 3*2,883,584 = 8,650,752; x66 = 570,949,632.
  // Total 571,080,704.
  CHECK(count("MoELayer", {{"hidden_size", 2048},
                           {"intermediate_size", 1408},
                           {"num_experts", 64},
                           {"top_k", 6},
                           {"num_shared_experts", 2},
                           {"num_projections", 3}}) == 571080704);
  // GPT-OSS-120B: h = 2880, I = 2880, E = 128, p = 3, bias. Router 2880*128 + 128 = 368,768.
  // Expert 3*2880*2880 + 2*2880 + 2880 = 24,883,200 + 8,640 = 24,891,840; x128 =
  // 3,186,155,520. Total 3,186,524,288.
  CHECK(count("MoELayer", {{"hidden_size", 2880},
                           {"intermediate_size", 2880},
                           {"num_experts", 128},
                           {"top_k", 4},
                           {"num_projections", 3},
                           {"has_bias", true}}) == 3186524288);
  // p = 2 with bias: h = 4, I = 8, E = 2, Es = 1. Router 4*2 + 2 = 10; expert 2*4*8 + 8 + 4 =
  // 76; x3 = 228. Total 238.
  CHECK(count("MoELayer", {{"hidden_size", 4},
                           {"intermediate_size", 8},
                           {"num_experts", 2},
                           {"top_k", 1},
                           {"num_shared_experts", 1},
                           {"has_bias", true}}) == 238);
}

TEST_CASE("NormLayer is h, 2h with bias") {
  // BLOOMZ-560m LayerNorm: h = 1024 with bias -> 2,048. Llama RMSNorm h = 8192 -> 8,192.
  CHECK(count("NormLayer", {{"hidden_size", 1024}, {"has_bias", true}}) == 2048);
  CHECK(count("NormLayer", {{"hidden_size", 8192}}) == 8192);
}

TEST_CASE("the built-in catalog holds the estimator's classes, each with a formula") {
  const Catalog& c = builtin_catalog();
  REQUIRE(c.classes.size() == 8);
  CHECK(c.schema_version == 2);
  for (const CatalogClass& cls : c.classes) {
    INFO(cls.name);
    CHECK(cls.param_count.has_value());
    CHECK(cls.takes("layer_idx"));
    CHECK_FALSE(cls.is_required("layer_idx"));
  }
  CHECK(builtin("MoELayer").is_required("top_k"));
  CHECK(builtin("SlidingWindowAttentionLayer").kind_of("sliding_window") ==
        ArgumentKind::integer_or_null);
  CHECK(builtin("NormLayer").kind_of("has_bias") == ArgumentKind::boolean);
  CHECK(builtin("NormLayer").kind_of("hidden_size") == ArgumentKind::integer);
}

TEST_CASE("unknown spec keys are ignored, as the estimator ignores them") {
  CHECK(problems("NormLayer", {{"hidden_size", 8}, {"input_dim", 8}, {"parameter_count", 1}})
            .empty());
  CHECK(count("NormLayer", {{"hidden_size", 8}, {"input_dim", "x"}}) == 8);
}

TEST_CASE("a missing required argument is reported and stops the count") {
  const ordered_json specs = {{"hidden_size", 8192}, {"num_heads", 64}, {"head_dim", 128}};
  const auto found = check_arguments(builtin("GroupedQueryAttentionLayer"), specs);
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == ArgumentProblemKind::missing);
  CHECK(found[0].argument == "num_kv_heads");
  CHECK(found[0].message == "required argument 'num_kv_heads' is missing");
  auto n = evaluate_param_count(builtin("GroupedQueryAttentionLayer"), specs);
  REQUIRE_FALSE(n);
  CHECK(n.error().what == "GroupedQueryAttentionLayer");
  CHECK(contains(n.error().why, "num_kv_heads"));
}

TEST_CASE("an argument of the wrong type is reported") {
  const auto found =
      check_arguments(builtin("NormLayer"), {{"hidden_size", "4096"}, {"has_bias", 1}});
  REQUIRE(found.size() == 2);
  CHECK(found[0].kind == ArgumentProblemKind::wrong_type);
  CHECK(found[0].message == "'hidden_size' must be an integer, not \"4096\"");
  CHECK(found[1].message == "'has_bias' must be true or false, not 1");
  CHECK(problems("MLPLayer", {{"hidden_size", 4.5}, {"intermediate_size", 8}}) ==
        std::vector<std::string>{"'hidden_size' must be an integer, not 4.5"});
  CHECK(problems("SlidingWindowAttentionLayer", {{"hidden_size", 4},
                                                 {"num_query_heads", 2},
                                                 {"num_kv_heads", 1},
                                                 {"head_dim", 2},
                                                 {"sliding_window", "4k"}}) ==
        std::vector<std::string>{"'sliding_window' must be an integer or null, not \"4k\""});
  CHECK_FALSE(evaluate_param_count(builtin("NormLayer"), {{"hidden_size", true}}));
  CHECK(problems("NormLayer", ordered_json::array()) ==
        std::vector<std::string>{"specs is not an object"});
}

TEST_CASE("the constructor's requirements: num_projections 2 or 3, top_k at most num_experts") {
  CHECK(problems("MLPLayer",
                 {{"hidden_size", 4}, {"intermediate_size", 8}, {"num_projections", 4}}) ==
        std::vector<std::string>{"num_projections must be 2 or 3"});
  const ordered_json moe = {{"hidden_size", 4},
                            {"intermediate_size", 8},
                            {"num_experts", 8},
                            {"top_k", 9},
                            {"num_projections", 4}};
  const auto found = check_arguments(builtin("MoELayer"), moe);
  REQUIRE(found.size() == 2);
  CHECK(found[0].kind == ArgumentProblemKind::rejected);
  CHECK(found[0].message == "num_projections must be 2 or 3");
  CHECK(found[1].message == "top_k must not exceed num_experts");
  auto n = evaluate_param_count(builtin("MoELayer"), moe);
  REQUIRE_FALSE(n);
  CHECK(n.error().why == "num_projections must be 2 or 3; top_k must not exceed num_experts");
  ordered_json equal = moe;
  equal["top_k"] = 8;
  equal["num_projections"] = 2;
  CHECK(problems("MoELayer", equal).empty());
}

TEST_CASE("arguments and results past 2^53 are refused, naming the class and the value") {
  // 2^53 + 1 = 9,007,199,254,740,993: a double would round it.
  const auto found = check_arguments(builtin("NormLayer"), {{"hidden_size", 9007199254740993ULL}});
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == ArgumentProblemKind::too_large);
  CHECK(contains(found[0].message, "9007199254740993"));
  CHECK(problems("NormLayer", {{"hidden_size", 9007199254740992ULL}}).empty());  // 2^53 itself
  CHECK(problems("NormLayer", {{"hidden_size", -9007199254740993LL}}).size() == 1);
  // 2^27 * 2^27 = 2^54: each argument exact, the product not.
  auto big = evaluate_param_count(builtin("EmbeddingLayer"),
                                  {{"vocab_size", 134217728}, {"hidden_size", 134217728}});
  REQUIRE_FALSE(big);
  CHECK(big.error().what == "EmbeddingLayer");
  CHECK(contains(big.error().why, "exceeds 2^53"));
  // 2^26 * 2^27 = 2^53 exactly is still fine.
  CHECK(count("EmbeddingLayer", {{"vocab_size", 67108864}, {"hidden_size", 134217728}}) ==
        k_max_exact_count);
}

TEST_CASE("a formula giving a fraction or a negative number is refused") {
  auto c = parse_catalog("cat.json", R"({"schema_version": 2, "classes": [
      {"class": "Third", "params": ["h"], "param_count": "h / 3"},
      {"class": "Less", "params": ["h"], "param_count": "h - 10"}]})");
  REQUIRE(c);
  auto third = evaluate_param_count(*c->find("Third"), {{"h", 4}});
  REQUIRE_FALSE(third);
  CHECK(contains(third.error().why, "not a whole number"));
  CHECK(*evaluate_param_count(*c->find("Third"), {{"h", 6}}) == 2);
  auto less = evaluate_param_count(*c->find("Less"), {{"h", 4}});
  REQUIRE_FALSE(less);
  CHECK(contains(less.error().why, "negative"));
}

TEST_CASE("a catalog file of version 2 brings its own formulas and requirements") {
  auto c = parse_catalog("cat.json", R"json({"schema_version": 2, "classes": [
      {"class": "OutputHeadLayer", "params": ["hidden_size", "vocab_size", "has_bias", "layer_idx"],
       "defaults": {"has_bias": false, "layer_idx": 0}, "kinds": {"has_bias": "bool"},
       "param_count": "hidden_size * vocab_size + (has_bias ? vocab_size : 0)",
       "requires": [{"expression": "vocab_size > 0", "message": "vocab_size must be positive"}]}]})json");
  REQUIRE(c);
  const CatalogClass& head = *c->find("OutputHeadLayer");
  CHECK(head.is_required("vocab_size"));
  CHECK(*evaluate_param_count(head, {{"hidden_size", 8}, {"vocab_size", 32}, {"has_bias", true}}) ==
        8 * 32 + 32);
  const auto found = check_arguments(head, {{"hidden_size", 8}, {"vocab_size", 0}});
  REQUIRE(found.size() == 1);
  CHECK(found[0].message == "vocab_size must be positive");
  // The file shape round-trips, as the built-in catalog does.
  const auto again = parse_catalog("x", catalog_json(*c).dump());
  REQUIRE(again);
  CHECK(catalog_json(*again) == catalog_json(*c));
  const auto builtin_again = parse_catalog("x", catalog_json(builtin_catalog()).dump());
  REQUIRE(builtin_again);
  CHECK(catalog_json(*builtin_again) == catalog_json(builtin_catalog()));
}

TEST_CASE("a version-1 catalog still loads: known classes, no formulas, nothing required") {
  auto c = parse_catalog("old.json", R"({"schema_version": 1, "classes": [
      {"class": "MLPLayer", "params": ["hidden_size", "intermediate_size", "num_projections",
                                       "layer_idx"],
       "defaults": {"num_projections": 2}},
      {"class": "NormLayer", "params": ["hidden_size", "has_bias", "layer_idx"]}]})");
  REQUIRE(c);
  CHECK(c->schema_version == 1);
  const CatalogClass& mlp = *c->find("MLPLayer");
  CHECK_FALSE(mlp.param_count);
  CHECK_FALSE(mlp.is_required("hidden_size"));
  CHECK(mlp.kind_of("hidden_size") == ArgumentKind::any);
  CHECK(check_arguments(mlp, {{"hidden_size", "anything"}}).empty());
  auto n = evaluate_param_count(mlp, {{"hidden_size", 4}, {"intermediate_size", 8}});
  REQUIRE_FALSE(n);
  CHECK(contains(n.error().why, "no param_count formula"));
  CHECK(catalog_json(*c)["schema_version"] == 1);
  // No schema_version at all is version 1 too.
  CHECK(parse_catalog("old.json", R"({"classes": [{"class": "X", "params": []}]})"));
}

TEST_CASE("a catalog expression muParser cannot parse is bad input naming file and path") {
  const Error e = parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "param_count": "2 * (h"}]})");
  CHECK(contains(e.why, "classes[0].param_count"));
  CHECK(contains(e.why, "muParser cannot parse it"));
  const Error assign = parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "param_count": "h = 3"}]})");
  CHECK(contains(assign.why, "classes[0].param_count"));
  const Error two = parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "param_count": "h, h"}]})");
  CHECK(contains(two.why, "2 comma-separated values"));
  const Error req = parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "requires": [{"expression": "h >", "message": "m"}]}]})");
  CHECK(contains(req.why, "classes[0].requires[0].expression"));
}

TEST_CASE("a catalog expression naming an unknown variable is bad input") {
  const Error e = parse_error(R"({"schema_version": 2, "classes": [
      {"class": "A", "params": ["h"], "param_count": "h"},
      {"class": "B", "params": ["hidden_size"], "param_count": "hidden * 2"}]})");
  CHECK(contains(e.why, "classes[1].param_count"));
  CHECK(contains(e.why, "'hidden', which is not an argument of the class"));
  const Error req = parse_error(R"({"schema_version": 2, "classes": [
      {"class": "A", "params": ["h"],
       "requires": [{"expression": "top_k <= h", "message": "m"}]}]})");
  CHECK(contains(req.why, "classes[0].requires[0].expression"));
  CHECK(contains(req.why, "'top_k'"));
}

TEST_CASE("malformed version-2 class fields are bad input naming the JSON path") {
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "kinds": {"h": "float"}}]})")
                     .why,
                 "classes[0].kinds.h"));
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "kinds": {"k": "int"}}]})")
                     .why,
                 "classes[0].kinds.k: not one of the class's params"));
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["b"], "kinds": {"b": "bool"}, "defaults": {"b": 0}}]})")
                     .why,
                 "classes[0].defaults.b: must be true or false"));
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "defaults": {"g": 1}}]})")
                     .why,
                 "classes[0].defaults.g"));
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["hidden-size"]}]})")
                     .why,
                 "classes[0].params[0]"));
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "param_count": 4}]})")
                     .why,
                 "classes[0].param_count: must be a string"));
  CHECK(contains(parse_error(R"({"schema_version": 2, "classes": [
      {"class": "X", "params": ["h"], "requires": [{"expression": "h > 0"}]}]})")
                     .why,
                 "classes[0].requires[0].message"));
  CHECK(contains(parse_error(R"({"schema_version": 3, "classes": []})").why,
                 "schema_version 3 is newer"));
  CHECK(contains(parse_error(R"({"schema_version": "2", "classes": []})").why, "schema_version"));
}
