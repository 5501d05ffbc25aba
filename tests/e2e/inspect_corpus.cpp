// `mbuild inspect --format json` on every corpus model: the counts equal the published ones in
// truth.json, and the JSON has the keys and types DESIGN.md promises to CI scripts.
#include <numeric>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

using nlohmann::json;

bool has(const json& doc, const std::string& pointer) {
  return doc.contains(json::json_pointer(pointer));
}

// Counts and byte sizes are integers: every number under params, files and memory, except the
// stated bits per weight.
void require_integer_counts(const json& value, const std::string& where) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (key != "bits_per_weight") {
        require_integer_counts(child, where + "/" + key);
      }
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      require_integer_counts(value[i], where + "/" + std::to_string(i));
    }
  } else if (value.is_number()) {
    INFO(where << " = " << value.dump());
    CHECK(value.is_number_integer());
  }
}

void require_design_keys(const json& doc) {
  // DESIGN.md "inspect --format json": at least these keys.
  for (const char* pointer : {"/schema_version",
                              "/model/id",
                              "/model/revision",
                              "/model/commit",
                              "/model/source",
                              "/config/model_type",
                              "/config/architectures",
                              "/config/hidden_size",
                              "/config/num_layers",
                              "/config/num_heads",
                              "/config/num_kv_heads",
                              "/config/head_dim",
                              "/config/intermediate_size",
                              "/config/vocab_size",
                              "/config/max_position_embeddings",
                              "/config/tie_word_embeddings",
                              "/files",
                              "/params/total",
                              "/params/by_dtype",
                              "/params/raw_elements_by_dtype",
                              "/params/by_component",
                              "/params/active",
                              "/params/embedding",
                              "/params/analytic",
                              "/memory/weights_bytes",
                              "/memory/formats",
                              "/memory/kv_cache",
                              "/layers/count",
                              "/layers/pattern",
                              "/layers/kinds",
                              "/warnings"}) {
    INFO("key " << pointer);
    CHECK(has(doc, pointer));
  }
  CHECK(doc.at("schema_version").is_number_integer());
  CHECK(doc.at("model").at("source").is_string());
  CHECK(doc.at("config").at("architectures").is_array());
  for (const char* field : {"hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim",
                            "intermediate_size", "vocab_size", "max_position_embeddings"}) {
    const json& v = doc.at("config").at(field);
    INFO("config." << field << " = " << v.dump());
    CHECK((v.is_null() || v.is_number_integer()));
  }
  CHECK(doc.at("config").at("tie_word_embeddings").is_boolean());

  REQUIRE(doc.at("files").is_array());
  for (const json& file : doc.at("files")) {
    INFO(file.dump());
    CHECK(file.at("name").is_string());
    CHECK(file.at("size").is_number_integer());
    CHECK(file.at("tensors").is_number_integer());
    CHECK(file.at("header_bytes").is_number_integer());
  }
  REQUIRE(doc.at("memory").at("formats").is_array());
  CHECK_FALSE(doc.at("memory").at("formats").empty());
  for (const json& format : doc.at("memory").at("formats")) {
    INFO(format.dump());
    CHECK(format.at("format").is_string());
    CHECK(format.at("bits_per_weight").is_number());
    CHECK(format.at("bytes").is_number_integer());
  }
  // Present for every model (CI scripts read them); null where a model has no KV cache.
  for (const char* field : {"bytes_per_token", "context", "batch", "bytes"}) {
    INFO("memory.kv_cache." << field << " in " << doc.at("memory").at("kv_cache").dump());
    const json& kv = doc.at("memory").at("kv_cache");
    CHECK(kv.contains(field));
    if (kv.contains(field)) {
      CHECK((kv.at(field).is_null() || kv.at(field).is_number_integer()));
    }
  }
  CHECK(doc.at("layers").at("count").is_number_integer());
  CHECK(doc.at("layers").at("pattern").is_string());
  CHECK(doc.at("layers").at("kinds").is_array());
  CHECK(doc.at("layers").at("kinds").size() == doc.at("layers").at("count").get<size_t>());
  CHECK(doc.at("warnings").is_array());

  require_integer_counts(doc.at("params"), "params");
  require_integer_counts(doc.at("files"), "files");
  require_integer_counts(doc.at("memory"), "memory");
}

uint64_t sum_values(const json& object) {
  uint64_t sum = 0;
  for (const auto& [key, value] : object.items()) {
    sum += value.get<uint64_t>();
  }
  return sum;
}

}  // namespace

TEST_CASE("inspect --format json counts every corpus model as published", "[inspect][corpus]") {
  const TruthEntry model = GENERATE(from_range(truth()));
  INFO("model " << model.folder);

  const ProcessResult run =
      run_mbuild({"inspect", corpus_model(model.folder).string(), "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE_FALSE(run.timed_out);
  REQUIRE(run.exit_code == 0);
  const json doc = json::parse(run.out);
  REQUIRE(doc.is_object());

  const json& params = doc.at("params");
  CHECK(params.at("total").get<uint64_t>() == model.total_params);
  CHECK(params.at("raw_elements").get<uint64_t>() == model.raw_elements);
  CHECK(sum_values(params.at("raw_elements_by_dtype")) == model.raw_elements);
  CHECK(doc.at("files").size() == model.files);
  uint64_t tensors = 0;
  for (const json& file : doc.at("files")) {
    tensors += file.at("tensors").get<uint64_t>();
  }
  CHECK(tensors == model.tensors);

  require_design_keys(doc);
}

TEST_CASE("inspect --format json ends with one newline", "[inspect][json]") {
  const ProcessResult run =
      run_mbuild({"inspect", corpus_model("openai-community__gpt2").string(), "--format", "json"});
  REQUIRE(run.exit_code == 0);
  REQUIRE_FALSE(run.out.empty());
  CHECK(run.out.back() == '\n');
  CHECK_FALSE(run.out.ends_with("\n\n"));
}

TEST_CASE("inspect of a hand-written tiny model counts every stored element", "[inspect][local]") {
  TempDir dir;
  write_tiny_llama(dir.path());

  const ProcessResult run = run_mbuild({"inspect", dir.path().string(), "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json doc = json::parse(run.out);
  CHECK(doc.at("params").at("total").get<uint64_t>() == tiny_llama_total());
  CHECK(doc.at("params").at("raw_elements_by_dtype").at("F32").get<uint64_t>() ==
        tiny_llama_total());
  CHECK(doc.at("model").at("source") == "local");
  CHECK(doc.at("files").size() == 1);
  CHECK(doc.at("files").at(0).at("name") == "model.safetensors");
  CHECK(doc.at("files").at(0).at("tensors") == tiny_llama_tensors().size());
  require_design_keys(doc);
}

TEST_CASE("inspect of a single .safetensors file counts its tensors", "[inspect][local]") {
  TempDir dir;
  write_tiny_llama(dir.path());

  const ProcessResult run =
      run_mbuild({"inspect", (dir / "model.safetensors").string(), "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const json doc = json::parse(run.out);
  CHECK(doc.at("params").at("total").get<uint64_t>() == tiny_llama_total());
  CHECK(doc.at("files").size() == 1);
}

}  // namespace mbuild::e2e
