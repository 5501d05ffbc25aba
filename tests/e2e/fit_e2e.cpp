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
