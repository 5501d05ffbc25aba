// validate against family contracts, as the binary runs it: the built-in registry, --contracts,
// --family / --size, malformed contracts, and the fingerprint inspect prints.
#include <map>
#include <set>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

std::string data(std::string_view sub) {
  return (std::filesystem::path(MBUILD_TEST_DATA) / sub).string();
}

nlohmann::json json_of(const ProcessResult& run) {
  INFO("stderr: " << run.err);
  return nlohmann::json::parse(run.out);
}

}  // namespace

TEST_CASE("validate --format json reports the family, its compliance and cross-validation") {
  const ProcessResult run =
      run_mbuild({"validate", corpus_model("Qwen__Qwen3-8B").string(), "--format", "json"});
  REQUIRE(run.exit_code == 0);
  const nlohmann::json j = json_of(run);
  CHECK(j["family"]["name"] == "qwen3");
  CHECK(j["family"]["size"] == "8b");
  CHECK(j["family"]["contract"] == "<built-in>/qwen3.yaml");
  CHECK(j["compliance"]["compliant"] == true);
  CHECK(j["compliance"]["expected_tensors"] == 399);  // the checkpoint's 399 tensors
  CHECK(j["compliance"]["found_tensors"] == 399);
  CHECK(j["compliance"]["missing"].empty());
  CHECK(j["compliance"]["unexpected"].empty());
  CHECK(j["compliance"]["shape_mismatches"].empty());
  CHECK(!j["family"].contains("cross_validation"));
  // The size variant against config.json: one top-level table of rows.
  const nlohmann::json& rows = j["cross_validation"];
  REQUIRE(rows.is_array());
  std::map<std::string, nlohmann::json> by_field;
  for (const nlohmann::json& row : rows) {
    CHECK(row["source"] == "family");
    CHECK(row["contract_file"] == "<built-in>/qwen3.yaml");
    for (const char* key : {"field", "contract", "hf", "status"}) {
      INFO(key);
      CHECK(row.contains(key));
    }
    by_field[row["field"].get<std::string>()] = row;
  }
  // Qwen/Qwen3-8B config.json: hidden 4096, 36 layers, rope_theta 1000000, rms_norm_eps 1e-06.
  CHECK(by_field["hidden_size"]["contract"] == "4096");
  CHECK(by_field["hidden_size"]["hf"] == "4096");
  CHECK(by_field["hidden_size"]["status"] == "match");
  CHECK(by_field["num_layers"]["status"] == "match");
  CHECK(by_field["rope_theta"]["status"] == "match");
  CHECK(by_field["norm_eps"]["hf"] == "1e-06");
  CHECK(by_field["norm_eps"]["status"] == "match");
  for (const auto& [field, row] : by_field) {
    INFO(field);
    CHECK(row["status"] != "mismatch");
    if (row["status"] == "hf_only") {
      CHECK(row["contract"].is_null());
    }
  }
}

TEST_CASE("validate --against and a family contract fill one cross_validation table") {
  // The config mbuild emits for the model, then validate against it: rows of both sources.
  TempDir dir;
  const std::string model = corpus_model("meta-llama__Llama-3.2-1B-Instruct").string();
  REQUIRE(run_mbuild({"emit-config", model, "--out-dir", (dir.path() / "configs").string(),
                      "--gaps-dir", (dir.path() / "gaps").string()})
              .exit_code == 0);
  const std::string emitted =
      (dir.path() / "configs" / "meta-llama_Llama-3.2-1B-Instruct.json").string();
  const ProcessResult run =
      run_mbuild({"validate", model, "--against", emitted, "--format", "json"});
  REQUIRE(run.exit_code == 0);
  const nlohmann::json j = json_of(run);
  std::set<std::string> sources;
  for (const nlohmann::json& row : j["cross_validation"]) {
    sources.insert(row["source"].get<std::string>());
    CHECK(row["status"] != "mismatch");
    if (row["source"] == "against") {
      CHECK(row["contract_file"] == emitted);
    }
  }
  CHECK(sources == std::set<std::string>{"against", "family"});
  CHECK(j["against"]["contract"] == emitted);
  CHECK(j["against"]["schema_version"] == 2);
}

TEST_CASE("a seed-format contract from --contracts validates Llama-3.3-70B") {
  const ProcessResult run =
      run_mbuild({"validate", corpus_model("meta-llama__Llama-3.3-70B-Instruct").string(),
                  "--contracts", data("contracts/seed"), "--family", "llama", "--format", "json"});
  REQUIRE(run.exit_code == 0);
  const nlohmann::json j = json_of(run);
  CHECK(j["family"]["size"] == "70b");
  CHECK(j["compliance"]["compliant"] == true);
  CHECK(j["compliance"]["expected_tensors"] == 723);
}

TEST_CASE("a malformed contract exits 3 naming the file and the line") {
  const ProcessResult run = run_mbuild({"validate", corpus_model("openai-community__gpt2").string(),
                                        "--contracts", data("contracts/malformed")});
  CHECK(run.exit_code == 3);
  CHECK(run.out.empty());
  CHECK(run.err.find("mbuild: error: ") == 0);
  CHECK(run.err.find("bad_enum.yaml:6") != std::string::npos);
  CHECK(run.err.find("constraints.attention_type") != std::string::npos);
}

TEST_CASE("a size variant config.json contradicts (--size) fails with both values") {
  const ProcessResult run =
      run_mbuild({"validate", corpus_model("meta-llama__Llama-3.1-8B").string(), "--size", "70b"});
  CHECK(run.exit_code == 1);
  CHECK(run.out.find("--size 70b states 8192, config.json 4096") != std::string::npos);
}

TEST_CASE("a family or size naming nothing (--family, --size) is a usage error") {
  CHECK(run_mbuild({"validate", corpus_model("openai-community__gpt2").string(), "--family",
                    "no_such_family"})
            .exit_code == 2);
  CHECK(run_mbuild({"validate", corpus_model("openai-community__gpt2").string(), "--size", "9t"})
            .exit_code == 2);
}

TEST_CASE("inspect prints the fingerprint, equal for a checkpoint and its quantized upload") {
  const auto fp = [](const std::string& folder) {
    const ProcessResult run =
        run_mbuild({"inspect", corpus_model(folder).string(), "--format", "json"});
    REQUIRE(run.exit_code == 0);
    return json_of(run)["fingerprint"].get<std::string>();
  };
  const std::string base = fp("meta-llama__Llama-3.1-8B");
  CHECK(base.size() == 16);
  CHECK(base == fp("unsloth__Meta-Llama-3.1-8B-Instruct-bnb-4bit"));
  CHECK(base != fp("meta-llama__Llama-3.3-70B-Instruct"));
  const ProcessResult text =
      run_mbuild({"inspect", corpus_model("meta-llama__Llama-3.1-8B").string()});
  CHECK(text.out.find(base) != std::string::npos);
}

}  // namespace mbuild::e2e

namespace mbuild::e2e {

TEST_CASE("emit-contract writes a contract that validate accepts for the same model") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("mbuild-e2e-contract-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "phi3.yaml").string();
  const ProcessResult emit = run_mbuild(
      {"emit-contract", corpus_model("microsoft__Phi-3.5-mini-instruct").string(), "--out", out});
  REQUIRE(emit.exit_code == 0);
  CHECK(emit.out.empty());
  const ProcessResult run =
      run_mbuild({"validate", corpus_model("microsoft__Phi-3.5-mini-instruct").string(),
                  "--contracts", dir.string(), "--format", "json"});
  CHECK(run.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(run.out);
  CHECK(j["family"]["name"] == "phi3");
  CHECK(j["compliance"]["compliant"] == true);
  std::filesystem::remove_all(dir);
}

}  // namespace mbuild::e2e

namespace mbuild::e2e {

TEST_CASE(
    "inspect --format variant prints the flat shape block and validate lists the invariants") {
  const std::string model = (std::filesystem::path(MBUILD_TEST_DATA) / "synthetic" /
                             "mlx-community__Qwen3.6-35B-A3B-4bit")
                                .string();
  const ProcessResult variant = run_mbuild({"inspect", model, "--format", "variant"});
  REQUIRE(variant.exit_code == 0);
  CHECK(variant.out.find("\nhidden: 2048\n") != std::string::npos);
  CHECK(variant.out.find("\nexperts: 256\n") != std::string::npos);
  CHECK(variant.out.find("\nexpert_bytes: 1769472\n") != std::string::npos);
  CHECK(variant.out.find("BROKEN") == std::string::npos);
  const ProcessResult run = run_mbuild({"validate", model, "--format", "json"});
  const nlohmann::json j = nlohmann::json::parse(run.out);
  REQUIRE(j["invariants"].size() == 7);
  for (const auto& inv : j["invariants"]) {
    CHECK(inv["status"] == "pass");
  }
  CHECK(run_mbuild({"validate", model, "--format", "variant"}).exit_code == 2);
}

}  // namespace mbuild::e2e
