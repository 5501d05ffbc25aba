// The named limits on untrusted input (README.md "Limits"): each gives a one-line bad-input
// error naming the file and the limit, and nothing past a limit is counted.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "mbuild/arch/catalog.hpp"
#include "mbuild/arch/contract.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/model/model_config.hpp"
#include "mbuild/snapshot/safetensors.hpp"
#include "mbuild/snapshot/shard_index.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

// A header-only file holding `specs`, as a source hands it over.
WeightFile header_only(std::string name, const std::vector<test::TensorSpec>& specs) {
  const std::string bytes = test::safetensors_bytes(test::header_json(specs));
  return {std::move(name), bytes.size(), ByteBuffer::copy_of(bytes)};
}

// WeightFile is move-only: no braced list.
std::vector<WeightFile> one_file(WeightFile file) {
  std::vector<WeightFile> files;
  files.push_back(std::move(file));
  return files;
}

Result<Model> model_of(std::vector<WeightFile> files) {
  Snapshot snapshot;
  snapshot.ref.id = "org/crafted";
  snapshot.files = std::move(files);
  return build_model(std::move(snapshot));
}

// Checks a bad-input error naming `file`, with every piece of `faults` in its one line.
template <class T>
void require_limit_error(const Result<T>& r, std::string_view file,
                         const std::vector<std::string>& faults) {
  REQUIRE_FALSE(r.has_value());
  INFO("message: " << r.error().message());
  CHECK(r.error().kind == ErrorKind::bad_input);
  CHECK(r.error().what == file);
  for (const std::string& fault : faults) {
    CHECK(r.error().why.find(fault) != std::string::npos);
  }
  CHECK(r.error().message().find('\n') == std::string::npos);
}

}  // namespace

TEST_CASE("the limits allow the largest published checkpoints") {
  // ~2T parameters, ~4 TB in BF16, ~100k tensors: each limit leaves a wide margin.
  CHECK(k_max_model_parameters >= 5 * uint64_t{2'000'000'000'000});
  CHECK(k_max_model_data_bytes >= 5 * uint64_t{4'000'000'000'000});
  CHECK(k_max_file_data_bytes >= 5 * uint64_t{4'000'000'000'000});
  CHECK(k_max_model_tensors >= 5 * size_t{100'000});
}

TEST_CASE("a header claiming 10^18 parameters is rejected, not counted") {
  // 10^9 x 10^9 one-byte elements: 10^18 bytes, every dimension under the 2^48 cap and the
  // offsets matching the shape, in a header-only file (which is legal).
  const std::vector<test::TensorSpec> crafted = {
      {"model.embed_tokens.weight", "F8_E4M3", {1'000'000'000, 1'000'000'000}}};
  const std::string bytes = test::safetensors_bytes(test::header_json(crafted));

  auto header = parse_safetensors_header("model.safetensors", bytes, bytes.size());
  require_limit_error(header, "model.safetensors",
                      {"model.embed_tokens.weight", "1000000000000000000 bytes",
                       fmt::format("{} byte limit for one file", k_max_file_data_bytes)});

  auto model = model_of(one_file(header_only("model.safetensors", crafted)));
  require_limit_error(model, "model.safetensors", {"1000000000000000000 bytes"});
}

TEST_CASE("10^18 parameters of F4 (half as many bytes) are rejected too") {
  const std::vector<test::TensorSpec> crafted = {{"w", "F4", {1'000'000'000, 1'000'000'000}}};
  auto model = model_of(one_file(header_only("model.safetensors", crafted)));
  require_limit_error(model, "model.safetensors", {"500000000000000000 bytes", "limit"});
}

TEST_CASE("one file's tensor data over the per-file byte limit is bad input") {
  const std::vector<test::TensorSpec> at_limit = {{"w", "U8", {k_max_file_data_bytes}}};
  const std::string ok = test::safetensors_bytes(test::header_json(at_limit));
  CHECK(parse_safetensors_header("big.safetensors", ok, ok.size()));

  const std::vector<test::TensorSpec> over = {{"a", "U8", {k_max_file_data_bytes - 1}},
                                              {"b", "U8", {2}}};
  const std::string bytes = test::safetensors_bytes(test::header_json(over));
  require_limit_error(parse_safetensors_header("big.safetensors", bytes, bytes.size()),
                      "big.safetensors",
                      {"tensor 'b'", fmt::format("{} bytes", k_max_file_data_bytes + 1),
                       fmt::format("over the {} byte limit for one file", k_max_file_data_bytes)});
}

TEST_CASE("a model's parameters over the limit across its shards are bad input") {
  // Three shards of 4 x 10^12 F4 elements (2 TB each): each file is within its limits, the
  // third takes the model to 1.2 x 10^13 parameters.
  std::vector<WeightFile> files;
  for (int i = 1; i <= 3; ++i) {
    files.push_back(header_only(fmt::format("model-0000{}-of-00003.safetensors", i),
                                {{fmt::format("layers.{}.w", i), "F4", {4'000'000'000'000}}}));
  }
  require_limit_error(model_of(std::move(files)), "model-00003-of-00003.safetensors",
                      {"12000000000000 parameters",
                       fmt::format("over the limit of {} for a model", k_max_model_parameters)});
}

TEST_CASE("a model's tensor bytes over the limit across its shards are bad input") {
  // Four shards of 1.5 x 10^12 I64 elements (1.2 x 10^13 bytes each): 6 x 10^12 parameters in
  // all, under that limit, but 4.8 x 10^13 bytes, over the byte limit at the fourth.
  std::vector<WeightFile> files;
  for (int i = 1; i <= 4; ++i) {
    files.push_back(header_only(fmt::format("model-0000{}-of-00004.safetensors", i),
                                {{fmt::format("layers.{}.w", i), "I64", {1'500'000'000'000}}}));
  }
  require_limit_error(model_of(std::move(files)), "model-00004-of-00004.safetensors",
                      {"48000000000000 bytes of tensor data",
                       fmt::format("over the limit of {} for a model", k_max_model_data_bytes)});
}

TEST_CASE("a model's tensor count over the limit is bad input naming the file") {
  // Headers big enough to pass 4,000,000 tensors would take 200 MB of JSON: the running
  // totals are checked directly, as build_model adds each file.
  ModelTotals totals;
  REQUIRE(
      add_file_totals(totals, "model-00001-of-00002.safetensors", k_max_model_tensors - 1, 10, 20));
  auto over = add_file_totals(totals, "model-00002-of-00002.safetensors", 2, 10, 20);
  require_limit_error(over, "model-00002-of-00002.safetensors",
                      {fmt::format("{} tensors", k_max_model_tensors + 1),
                       fmt::format("over the limit of {} for a model", k_max_model_tensors)});
  // A failed add leaves the totals as they were.
  CHECK(totals.tensors == k_max_model_tensors - 1);
  CHECK(totals.parameters == 10);
  CHECK(totals.data_bytes == 20);
}

TEST_CASE("running totals that would overflow 64 bits are over the limit, not wrapped") {
  ModelTotals totals;
  REQUIRE(add_file_totals(totals, "a.safetensors", 1, k_max_model_parameters, 0));
  auto over = add_file_totals(totals, "b.safetensors", 1, UINT64_MAX, 0);
  require_limit_error(over, "b.safetensors", {fmt::format("{} parameters", UINT64_MAX)});
}

TEST_CASE("a header length over the limit is bad input naming the limit") {
  std::string bytes(8, '\0');
  const uint64_t n = k_max_header_bytes + 1;
  for (size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  require_limit_error(safetensors_header_span("model.safetensors", bytes, UINT64_MAX),
                      "model.safetensors",
                      {fmt::format("exceeds the {} byte limit", k_max_header_bytes)});
}

TEST_CASE("a dimension over 2^48 is bad input naming the limit") {
  const std::string header =
      fmt::format(R"({{"w":{{"dtype":"U8","shape":[{}],"data_offsets":[0,0]}}}})", k_max_dim + 1);
  const std::string bytes = test::safetensors_bytes(header);
  require_limit_error(parse_safetensors_header("model.safetensors", bytes, bytes.size()),
                      "model.safetensors", {"tensor 'w'", "exceeds 2^48"});
}

TEST_CASE("an index over the byte limit is bad input naming the limit") {
  // The size is checked before a byte is read, so the buffer's contents do not matter.
  ByteBuffer bytes(k_max_index_bytes + 1);
  require_limit_error(parse_shard_index("model.safetensors.index.json", std::move(bytes)),
                      "model.safetensors.index.json",
                      {fmt::format("over the {} byte limit", k_max_index_bytes)});
}

TEST_CASE("an index naming more shards than the limit is bad input") {
  std::string map;
  for (size_t i = 0; i <= k_max_shards; ++i) {
    map += fmt::format(R"({}"t{}":"s{}.safetensors")", i ? "," : "", i, i);
  }
  const std::string index = R"({"weight_map":{)" + map + "}}";
  require_limit_error(parse_shard_index("model.safetensors.index.json", index),
                      "model.safetensors.index.json",
                      {fmt::format("more than {} shards, the limit for one index", k_max_shards)});
}

TEST_CASE("a config.json over the byte limit is bad input naming the limit") {
  const std::string text(k_max_config_bytes + 1, ' ');
  require_limit_error(parse_model_config("config.json", text), "config.json",
                      {fmt::format("over the {} byte limit", k_max_config_bytes)});
}

TEST_CASE("a contract over the byte limit is bad input naming the limit") {
  const std::string text(k_max_contract_bytes + 1, ' ');
  require_limit_error(parse_contract("model_configs/m.json", text), "model_configs/m.json",
                      {fmt::format("over the {} byte limit", k_max_contract_bytes)});
}

// Found by fuzz/ (fuzz/regressions/{model_config,contract}/number-overflow.json): a number past
// a double's range made the JSON library throw an exception the readers did not catch.
TEST_CASE("a config.json number past a double's range is bad input, not a crash") {
  auto config = parse_model_config("config.json", R"({"model_type":"llama","rope_theta":1e400})");
  require_limit_error(config, "config.json", {"not valid JSON", "1e400"});
}

TEST_CASE("a contract number past a double's range is bad input, not a crash") {
  auto contract = parse_contract("model_configs/m.json", R"({"model_id":"m","norm_eps":-1e400})");
  require_limit_error(contract, "model_configs/m.json", {"not valid JSON", "1e400"});
}

// Found by review after fuzzing (fuzz/regressions/*/deep-nesting.json): nesting deeper than the
// fuzzers' 4 KB inputs reach overflowed the stack in the JSON library's recursive copy and dump.
TEST_CASE("config.json nested past the depth limit is bad input, not a stack overflow") {
  const size_t depth = 100'000;
  const std::string text =
      R"({"text_config":{"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}}";
  require_limit_error(parse_model_config("config.json", text), "config.json",
                      {fmt::format("nested more than {} levels deep", k_max_json_depth)});
  CHECK(parse_model_config("config.json", R"({"a":)" + std::string(k_max_json_depth - 1, '[') +
                                              std::string(k_max_json_depth - 1, ']') + "}"));
}

TEST_CASE("a contract nested past the depth limit is bad input, not a stack overflow") {
  const size_t depth = 100'000;
  const std::string text =
      R"({"model_id":"m","hidden_size":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  require_limit_error(parse_contract("model_configs/m.json", text), "model_configs/m.json",
                      {fmt::format("nested more than {} levels deep", k_max_json_depth)});
}

TEST_CASE("brackets inside JSON strings do not count as nesting") {
  CHECK(json_nesting_depth(R"({"a":"[[[{{{\"[[","b":[1,{"c":[]}]})") == 4);
  CHECK(json_nesting_depth("3") == 0);
}

TEST_CASE("a catalog that is too deep, too large or holds 1e400 is bad input, not a crash") {
  const size_t depth = 100'000;
  require_limit_error(parse_catalog("catalog.json", R"({"classes":)" + std::string(depth, '[') +
                                                        std::string(depth, ']') + "}"),
                      "catalog.json",
                      {fmt::format("nested more than {} levels deep", k_max_json_depth)});
  require_limit_error(
      parse_catalog("catalog.json", R"({"classes":[{"class":"X","defaults":{"eps":1e400}}]})"),
      "catalog.json", {"not valid JSON", "1e400"});
  require_limit_error(parse_catalog("catalog.json", std::string(k_max_catalog_bytes + 1, ' ')),
                      "catalog.json", {"over the", "byte limit"});
}
