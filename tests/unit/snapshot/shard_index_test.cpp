// The sharded-checkpoint index reader, and index <-> shard consistency through build_model.
#include "mbuild/snapshot/shard_index.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/model/model.hpp"
#include "mbuild/snapshot/snapshot.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

constexpr std::string_view k_index = "model.safetensors.index.json";

void require_bad_input(const Result<ShardIndex>& r, std::string_view fault) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::bad_input);
  CHECK(r.error().what == k_index);
  INFO("why: " << r.error().why);
  CHECK(r.error().why.find(fault) != std::string::npos);
}

// A header-only shard holding `specs`, as a source would hand it over.
WeightFile shard(std::string name, const std::vector<test::TensorSpec>& specs) {
  const std::string bytes = test::safetensors_bytes(test::header_json(specs));
  WeightFile f;
  f.name = std::move(name);
  f.size = bytes.size();
  f.head = ByteBuffer::copy_of(bytes);
  return f;
}

// Two shards: a = {embed (F32 [4, 2]: 32 bytes), norm (F32 [2]: 8 bytes)}, b = {head (F32 [4, 2]:
// 32 bytes)}: 72 tensor bytes in all.
Snapshot two_shard_snapshot(std::string_view index_json) {
  Snapshot snap;
  snap.ref.id = "org/model";
  auto index = parse_shard_index(k_index, index_json);
  REQUIRE(index);
  snap.index = std::move(*index);
  snap.files.push_back(shard("model-00001-of-00002.safetensors",
                             {{"embed.weight", "F32", {4, 2}}, {"norm.weight", "F32", {2}}}));
  snap.files.push_back(shard("model-00002-of-00002.safetensors", {{"head.weight", "F32", {4, 2}}}));
  return snap;
}

std::vector<Finding> warnings_about_index(const Model& model) {
  std::vector<Finding> out;
  for (const Finding& f : model.findings) {
    if (f.where == k_index && f.severity == Severity::warning) {
      out.push_back(f);
    }
  }
  return out;
}

constexpr std::string_view k_consistent = R"({
  "metadata": {"total_size": 72},
  "weight_map": {
    "embed.weight": "model-00001-of-00002.safetensors",
    "norm.weight": "model-00001-of-00002.safetensors",
    "head.weight": "model-00002-of-00002.safetensors"
  }
})";

}  // namespace

TEST_CASE("an index's weight_map is parsed into tensors and distinct shards") {
  auto index = parse_shard_index(k_index, k_consistent);
  REQUIRE(index);
  CHECK(index->name == k_index);
  REQUIRE(index->shards.size() == 2);
  CHECK(index->shards[0] == "model-00001-of-00002.safetensors");
  CHECK(index->shards[1] == "model-00002-of-00002.safetensors");
  REQUIRE(index->weight_map.size() == 3);
  CHECK(index->tensor(index->weight_map[0]) == "embed.weight");
  CHECK(index->weight_map[0].shard == 0);
  CHECK(index->tensor(index->weight_map[1]) == "norm.weight");
  CHECK(index->weight_map[1].shard == 0);
  CHECK(index->tensor(index->weight_map[2]) == "head.weight");
  CHECK(index->weight_map[2].shard == 1);
  CHECK(index->total_size == 72U);
}

TEST_CASE("total_size is read as a number and as a numeric string") {
  auto number = parse_shard_index(
      k_index, R"({"metadata":{"total_size":141107412992},"weight_map":{"w":"a.safetensors"}})");
  REQUIRE(number);
  CHECK(number->total_size == 141'107'412'992U);
  auto text = parse_shard_index(
      k_index, R"({"metadata":{"total_size":"16060522496","total_parameters":"8030261248"},)"
               R"("weight_map":{"w":"a.safetensors"}})");
  REQUIRE(text);
  CHECK(text->total_size == 16'060'522'496U);
  CHECK(text->total_parameters == 8'030'261'248U);
  auto junk = parse_shard_index(
      k_index, R"({"metadata":{"total_size":"lots"},"weight_map":{"w":"a.safetensors"}})");
  REQUIRE(junk);
  CHECK_FALSE(junk->total_size.has_value());
}

TEST_CASE("an index without weight_map is bad input") {
  require_bad_input(parse_shard_index(k_index, R"({"metadata":{"total_size":8}})"),
                    "weight_map is missing");
}

TEST_CASE("an index with an empty weight_map is bad input") {
  require_bad_input(parse_shard_index(k_index, R"({"weight_map":{}})"), "weight_map is empty");
}

TEST_CASE("a weight_map value that is not a string is bad input") {
  require_bad_input(parse_shard_index(k_index, R"({"weight_map":{"w":1}})"),
                    "weight_map['w'] is not a string");
  require_bad_input(parse_shard_index(k_index, R"({"weight_map":["a.safetensors"]})"),
                    "weight_map is not an object");
}

TEST_CASE("an index that is not a JSON object is bad input") {
  require_bad_input(parse_shard_index(k_index, "{\"weight_map\":"), "not valid JSON");
  require_bad_input(parse_shard_index(k_index, "[]"), "not a JSON object");
}

TEST_CASE("shard names that leave the model folder are bad input") {
  struct Case {
    const char* shard;
    const char* fault;
  };
  for (const Case& c :
       {Case{"../secret.safetensors", "leaves the model folder"},
        Case{"sub/../../x.safetensors", "leaves the model folder"},
        Case{"/etc/passwd", "is an absolute path"},
        Case{"https://evil.example/x.safetensors", "is a URL"},
        Case{"sub\\x.safetensors", "forbidden character"},
        Case{"\\\\server\\x.safetensors", "is an absolute path"},
        Case{"a//b.safetensors", "leaves the model folder"}, Case{"", "is empty"}}) {
    DYNAMIC_SECTION(c.shard) {
      const nlohmann::json index = {{"weight_map", {{"w", c.shard}}}};
      require_bad_input(parse_shard_index(k_index, index.dump()), c.fault);
      auto direct = check_shard_name(k_index, c.shard);
      REQUIRE_FALSE(direct);
      CHECK(direct.error().why.find(c.fault) != std::string::npos);
    }
  }
}

TEST_CASE("shard names in a subfolder are accepted") {
  CHECK(check_shard_name(k_index, "model-00001-of-00002.safetensors"));
  CHECK(
      check_shard_name(k_index, "transformer/diffusion_pytorch_model-00001-of-00002.safetensors"));
  CHECK(check_shard_name(k_index, "a..b.safetensors"));
}

TEST_CASE("a consistent index and shards give no index findings") {
  auto model = build_model(two_shard_snapshot(k_consistent));
  REQUIRE(model);
  CHECK(warnings_about_index(*model).empty());
  CHECK(model->tensors.size() == 3);
  CHECK(model->files.size() == 2);
  CHECK(model->tensors[2].file == 1);
}

TEST_CASE("a tensor listed in weight_map but absent from the shards is a finding") {
  auto model = build_model(two_shard_snapshot(R"({"metadata":{"total_size":72},"weight_map":{
    "embed.weight": "model-00001-of-00002.safetensors",
    "norm.weight": "model-00001-of-00002.safetensors",
    "head.weight": "model-00002-of-00002.safetensors",
    "ghost.weight": "model-00002-of-00002.safetensors"}})"));
  REQUIRE(model);
  auto findings = warnings_about_index(*model);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].text.find("1 tensor(s) listed in weight_map are absent") != std::string::npos);
  CHECK(findings[0].text.find("'ghost.weight'") != std::string::npos);
}

TEST_CASE("a tensor in a shard but not listed in weight_map is a finding") {
  auto model = build_model(two_shard_snapshot(R"({"metadata":{"total_size":72},"weight_map":{
    "embed.weight": "model-00001-of-00002.safetensors",
    "head.weight": "model-00002-of-00002.safetensors"}})"));
  REQUIRE(model);
  auto findings = warnings_about_index(*model);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].text.find("not listed in weight_map") != std::string::npos);
  CHECK(findings[0].text.find("'norm.weight'") != std::string::npos);
}

TEST_CASE("a tensor stored in another shard than weight_map names is a finding") {
  auto model = build_model(two_shard_snapshot(R"({"metadata":{"total_size":72},"weight_map":{
    "embed.weight": "model-00001-of-00002.safetensors",
    "norm.weight": "model-00002-of-00002.safetensors",
    "head.weight": "model-00002-of-00002.safetensors"}})"));
  REQUIRE(model);
  auto findings = warnings_about_index(*model);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].text.find("in another shard") != std::string::npos);
  CHECK(findings[0].text.find("'norm.weight'") != std::string::npos);
}

TEST_CASE("a total_size that differs from the shards' tensor bytes is a finding") {
  auto model = build_model(two_shard_snapshot(R"({"metadata":{"total_size":"80"},"weight_map":{
    "embed.weight": "model-00001-of-00002.safetensors",
    "norm.weight": "model-00001-of-00002.safetensors",
    "head.weight": "model-00002-of-00002.safetensors"}})"));
  REQUIRE(model);
  auto findings = warnings_about_index(*model);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].text.find("total_size is 80 but the shards hold 72") != std::string::npos);
}

TEST_CASE("a tensor stored in two shards is bad input") {
  Snapshot snap = two_shard_snapshot(k_consistent);
  snap.display_prefix = "org/model@main/";
  snap.files[1] = shard("model-00002-of-00002.safetensors",
                        {{"head.weight", "F32", {4, 2}}, {"norm.weight", "F32", {2}}});
  auto model = build_model(std::move(snap));
  REQUIRE_FALSE(model);
  CHECK(model.error().kind == ErrorKind::bad_input);
  CHECK(model.error().what == "org/model@main/model-00002-of-00002.safetensors");
  CHECK(model.error().why.find("'norm.weight' is also stored in") != std::string::npos);
}

TEST_CASE("a malformed shard header fails build_model naming the shard") {
  Snapshot snap = two_shard_snapshot(k_consistent);
  snap.display_prefix = "org/model@main/";
  const std::string bad = test::safetensors_bytes("[1,2]");
  snap.files[1].size = bad.size();
  snap.files[1].head = ByteBuffer::copy_of(bad);
  auto model = build_model(std::move(snap));
  REQUIRE_FALSE(model);
  CHECK(model.error().kind == ErrorKind::bad_input);
  CHECK(model.error().what == "org/model@main/model-00002-of-00002.safetensors");
}

TEST_CASE("header-only shards give one info finding for the whole model") {
  auto model = build_model(two_shard_snapshot(k_consistent));
  REQUIRE(model);
  size_t notes = 0;
  for (const Finding& f : model->findings) {
    if (f.severity == Severity::info && f.text.find("header-only") != std::string::npos) {
      ++notes;
      CHECK(f.text.find("2 of 2 file(s)") != std::string::npos);
    }
  }
  CHECK(notes == 1);
}

TEST_CASE("shards of a diffusers subfolder match the index's unprefixed names") {
  Snapshot snap;
  auto index = parse_shard_index("transformer/diffusion_pytorch_model.safetensors.index.json",
                                 R"({"weight_map":{
    "a.weight":"diffusion_pytorch_model-00001-of-00002.safetensors",
    "b.weight":"diffusion_pytorch_model-00002-of-00002.safetensors"}})");
  REQUIRE(index);
  snap.index = std::move(*index);
  snap.files.push_back(shard("transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
                             {{"a.weight", "BF16", {2}}}));
  snap.files.push_back(shard("transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
                             {{"b.weight", "BF16", {2}}}));
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  for (const Finding& f : model->findings) {
    CHECK(f.severity == Severity::info);
  }
}

TEST_CASE("index names stay valid in a copy once the original and its bytes are gone") {
  // Plain names are viewed in the file's bytes; a name with an escape makes the whole index go
  // through simdjson, which copies every name.
  const std::string plain = R"({"weight_map":{"a.weight":"m-1.safetensors"}})";
  const std::string escaped = R"({"weight_map":{"a\u002eweight":"m-1.safetensors"}})";
  const std::string json = GENERATE_COPY(plain, escaped);
  std::optional<ShardIndex> copy;
  {
    auto index = parse_shard_index(k_index, ByteBuffer::copy_of(json));
    REQUIRE(index);
    copy = *index;
  }
  REQUIRE(copy->weight_map.size() == 1);
  CHECK(copy->tensor(copy->weight_map[0]) == "a.weight");
  CHECK(copy->shards == std::vector<std::string>{"m-1.safetensors"});
}
