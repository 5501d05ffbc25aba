// inspect --gpu through the binary: the fit array in JSON, the table in text, usage errors.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/fixtures.hpp"

namespace mbuild::e2e {
namespace {

TEST_CASE("inspect --gpu reports the fit of each device count asked", "[fit]") {
  // Llama-3.3-70B (Llama-3.1-70B's shape): 141,107,412,992 bytes of BF16 weights, 327,680 KV
  // bytes per token; two H100s leave 144e9 - 141,107,412,992 = 2,892,587,008 bytes: 8827 tokens.
  const std::string model = corpus_model("meta-llama__Llama-3.3-70B-Instruct").string();
  const ProcessResult run = run_mbuild(
      {"inspect", model, "--gpu", "H100,H100x2", "--context", "8192", "--format", "json"});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const nlohmann::json fit = nlohmann::json::parse(run.out).at("fit");
  REQUIRE(fit.size() == 2);
  CHECK(fit[0]["gpu"] == "H100-SXM");
  CHECK(fit[0]["gpu_count"] == 1);
  CHECK(fit[0]["fits"] == false);
  CHECK(fit[0]["min_gpus"] == 2);
  CHECK(fit[1]["gpu_count"] == 2);
  CHECK(fit[1]["fits"] == true);
  CHECK(fit[1]["max_context"] == 8827);
  CHECK(fit[1]["context"] == 8192);
  CHECK(fit[1]["batch"] == 1);
  CHECK(fit[1]["kv_dtype"] == "bf16");
  CHECK(fit[1]["weights_format"] == "as-stored");
  CHECK(fit[1]["overhead_bytes"] == 16'000'000'000ULL);
  CHECK(fit[1]["decode_tokens_per_s"].get<double>() == Approx(6.7e12 / 143'791'767'552.0));

  const ProcessResult text = run_mbuild({"inspect", model, "--gpu", "H100x2", "--context", "8192"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("H100-SXMx2") != std::string::npos);
  CHECK(text.out.find("8827") != std::string::npos);
}

TEST_CASE("inspect --kv-mtp adds the MTP layer's cache, to the figure and to the fit", "[fit]") {
  // Qwen3-Next-80B-A3B: 12 full-attention layers of 2 (K, V) x 2 kv heads x 256 head_dim x 2
  // bytes = 2,048 per token each, 24,576 in all; the checkpoint's MTP layer (mtp.layers.0) is a
  // full-attention layer too: 26,624 with it.
  const std::string model = corpus_model("Qwen__Qwen3-Next-80B-A3B-Thinking").string();
  auto kv_of = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"inspect", model,    "--context", "4096",
                                     "--gpu",   "H100x2", "--format",  "json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const ProcessResult run = run_mbuild(argv);
    INFO("stderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    return nlohmann::json::parse(run.out);
  };
  const nlohmann::json plain = kv_of({});
  const nlohmann::json asked = kv_of({"--kv-mtp"});
  CHECK(plain["memory"]["kv_cache"]["bytes_per_token"] == 24'576);
  CHECK(asked["memory"]["kv_cache"]["bytes_per_token"] == 26'624);
  const nlohmann::json& rows = asked["memory"]["kv_cache"]["by_kind"];
  REQUIRE(rows.size() == 3);
  CHECK(rows[2]["kind"] == "mtp");
  CHECK(rows[2]["layers"] == 1);
  CHECK(rows[2]["bytes"] == 2'048 * 4'096);
  // The fit holds the same 2,048 x 4,096 bytes more.
  const uint64_t fit_plain = plain["fit"][0]["kv_bytes"].get<uint64_t>();
  const uint64_t fit_asked = asked["fit"][0]["kv_bytes"].get<uint64_t>();
  CHECK(fit_asked - fit_plain == 2'048 * 4'096);
}

TEST_CASE("an unknown --gpu or --weights-format is a usage error", "[fit][usage]") {
  const std::string model = corpus_model("meta-llama__Llama-3.2-1B-Instruct").string();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--gpu", "TPUv9"},
        std::vector<std::string>{"--gpu", "H100", "--weights-format", "int3"},
        std::vector<std::string>{"--gpu-mem", "80"}}) {
    std::vector<std::string> argv = {"inspect", model};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult run = run_mbuild(argv);
    INFO("args: " << args.front() << " stderr: " << run.err);
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(split_lines(run.err).size() == 1);
  }
}

}  // namespace
}  // namespace mbuild::e2e
