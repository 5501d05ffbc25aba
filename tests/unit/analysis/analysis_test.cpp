// analyze(): every figure of a model in one pass, the same figures the commands print.
#include "mbuild/analysis/analysis.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"
#include "unit/analysis/layer_map_support.hpp"

using namespace mbuild;

TEST_CASE("one analysis holds the counts, the analytic cross-check, KV, pattern and map") {
  // Llama-3.3-70B-Instruct: 70,553,706,496 parameters (Hub API safetensors.total, truth.json),
  // and its config.json implies the same. KV per token at bf16: 80 layers x 2 (K and V)
  // x 8 kv heads x 128 head_dim x 2 bytes = 327,680.
  const Model model = test::corpus_model("meta-llama__Llama-3.3-70B-Instruct").model;
  const Analysis a = analyze(model, {.context = 8192, .batch = 1, .map_layers = true});
  CHECK(a.from_headers);
  CHECK(a.total == 70'553'706'496ULL);
  CHECK(a.params.total == a.total);
  REQUIRE(a.analytic.count);
  CHECK(a.analytic.count->total == a.total);
  CHECK(a.analytic.difference == 0);
  REQUIRE(a.kv);
  CHECK(a.kv->bytes_per_token == 327'680);
  CHECK(a.kv->bytes == 327'680ULL * 8192);
  CHECK(a.layers.count == 80);
  CHECK(a.layers.kinds.size() == 80);
  CHECK_FALSE(a.explanation);  // only when asked
  REQUIRE(a.map);
  CHECK(a.map->total == a.total);  // every tensor in exactly one layer entry
  CHECK_FALSE(a.formats.empty());
}

TEST_CASE("without headers the analysis counts from config.json") {
  // GPT-2 small's config implies 124,439,808 parameters (the published 124M, without the
  // attention-mask buffers the checkpoint also stores).
  auto text = read_small_file(test::corpus_dir() / "openai-community__gpt2" / "config.json",
                              k_max_config_bytes);
  REQUIRE(text);
  auto config = parse_model_config("config.json", text->view());
  REQUIRE(config);
  Model model;
  model.config = std::move(*config);
  const Analysis a = analyze(model, {.explain = true});
  CHECK_FALSE(a.from_headers);
  CHECK(a.params.total == 0);
  CHECK(a.total == 124'439'808);
  REQUIRE(a.explanation);
  CHECK(a.explanation->scaling.params == 124'439'808);
}
