// Every corpus model against its published numbers (tests/data/corpus/truth.json).
#include <catch2/catch.hpp>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

Analysis inspect_folder(const std::string& folder, Model& model) {
  LocalFolderSource source(test::corpus_dir() / folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  REQUIRE(built);
  model = std::move(*built);
  return analyze(model, {});
}

}  // namespace

TEST_CASE("every corpus model counts exactly its published total and raw elements") {
  for (const auto& entry : test::truth()) {
    const std::string folder = entry["folder"];
    DYNAMIC_SECTION(folder) {
      Model model;
      Analysis report = inspect_folder(folder, model);
      CHECK(report.params.total == entry["total_params"].get<uint64_t>());
      CHECK(report.params.raw_elements == entry["raw_elements"].get<uint64_t>());
      CHECK(report.params.buffers == entry["buffers"].get<uint64_t>());
      CHECK(model.tensors.size() == entry["tensors"].get<size_t>());
      CHECK(model.files.size() == entry["files"].get<size_t>());
      uint64_t raw_sum = 0;
      for (const auto& [dtype, n] : report.params.raw_elements_by_dtype) {
        raw_sum += n;
      }
      CHECK(raw_sum == entry["raw_elements"].get<uint64_t>());
      uint64_t logical_sum = 0;
      for (const auto& [dtype, n] : report.params.by_dtype) {
        logical_sum += n;
      }
      CHECK(logical_sum == report.params.total);
      uint64_t component_sum = 0;
      for (uint64_t n : report.params.by_component) {
        component_sum += n;
      }
      CHECK(component_sum == report.params.total);
    }
  }
}

TEST_CASE("the analytic count equals the header count or the difference is named") {
  for (const auto& entry : test::truth()) {
    const std::string folder = entry["folder"];
    DYNAMIC_SECTION(folder) {
      Model model;
      Analysis report = inspect_folder(folder, model);
      REQUIRE(report.analytic.count);
      if (report.analytic.difference != 0) {
        REQUIRE_FALSE(report.analytic.explanation.empty());
        for (const std::string& cause : report.analytic.explanation) {
          CHECK(cause.find("unexplained") == std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("GPT-2's difference is its attention-mask buffers") {
  Model model;
  Analysis report = inspect_folder("openai-community__gpt2", model);
  // 12 blocks x attn.bias [1, 1, 1024, 1024] = 12,582,912 stored mask elements (REPLICA.md).
  CHECK(report.analytic.count->total == 124'439'808);
  CHECK(report.analytic.difference == 12'582'912);
  REQUIRE(report.analytic.explanation.size() == 1);
  CHECK(report.analytic.explanation[0].find("buffer") != std::string::npos);
  CHECK(report.params.buffer_names.size() == 12);
}

TEST_CASE("tied embeddings are recognised when lm_head is not stored") {
  Model model;
  CHECK(inspect_folder("meta-llama__Llama-3.2-1B-Instruct", model).params.tied_embeddings);
  CHECK_FALSE(inspect_folder("meta-llama__Llama-3.1-8B", model).params.tied_embeddings);
}

TEST_CASE("MoE active params: top-k routed experts plus everything else") {
  Model model;
  Analysis report = inspect_folder("Qwen__Qwen3-30B-A3B", model);
  // Qwen3-30B-A3B: 48 layers x 128 experts x 3 x 2048 x 768 routed = 28,991,029,248;
  // non-routed = 30,532,122,624 - 28,991,029,248 = 1,541,093,376;
  // active = 1,541,093,376 + 48 x 8 x 3 x 2048 x 768 = 3,353,032,704 (published: "3.3B activated").
  CHECK(report.params.routed_expert_params == 28'991'029'248);
  REQUIRE(report.params.active);
  CHECK(*report.params.active == 3'353'032'704);

  // Mixtral-8x7B: published 12.9B active; 32 layers x 8 experts x 3 x 4096 x 14336 routed =
  // 45,097,156,608; active = 46,702,792,704 - 45,097,156,608 + 45,097,156,608 / 4.
  report = inspect_folder("mistralai__Mixtral-8x7B-v0.1", model);
  CHECK(*report.params.active == 46'702'792'704 - 45'097'156'608 + 45'097'156'608 / 4);
}

TEST_CASE("Qwen3-Next: hybrid pattern, MTP head outside the active count") {
  Model model;
  Analysis report = inspect_folder("Qwen__Qwen3-Next-80B-A3B-Thinking", model);
  CHECK(report.layers.pattern == "(linear_attention ×3, full_attention) ×12");
  CHECK(report.params.by_component[static_cast<size_t>(Component::mtp)] > 0);
  REQUIRE(report.params.active);
  CHECK(*report.params.active < 4'000'000'000);
}

TEST_CASE("quantized corpus checkpoints count logical weights") {
  Model model;
  Analysis awq = inspect_folder("TheBloke__Mistral-7B-Instruct-v0.1-AWQ", model);
  CHECK(awq.params.by_dtype.count("INT4") == 1);
  CHECK(awq.params.quant_aux_elements > 0);
  Analysis bnb = inspect_folder("unsloth__Meta-Llama-3.1-8B-Instruct-bnb-4bit", model);
  CHECK(bnb.params.by_dtype.count("NF4") == 1);
  Analysis mlx = inspect_folder("mlx-community__gemma-3-4b-pt-4bit", model);
  CHECK(mlx.params.by_component[static_cast<size_t>(Component::vision)] > 0);
}
