// Gap reports: complete documents with each model's numbers, sections kept across runs.
#include "mbuild/render/gap_report.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <catch2/catch.hpp>

#include "mbuild/render/emit_config.hpp"
#include "unit/analysis/layer_map_support.hpp"

using namespace mbuild;
using mbuild::test::corpus_model;
using mbuild::test::Mapped;

namespace {

std::map<std::string, std::string> sections_of(const Mapped& m) {
  return render_gap_sections(m.model, m.params, m.map, builtin_catalog(),
                             emitted_model_id(m.model.ref));
}

// The text under `heading` up to the next heading of the same or a higher level.
std::string section_body(const std::string& doc, std::string_view heading) {
  const size_t at = doc.find(std::string(heading) + "\n");
  if (at == std::string::npos) {
    return {};
  }
  const size_t level = heading.find(' ');
  const size_t start = at + heading.size() + 1;
  size_t end = start;
  while (true) {
    end = doc.find("\n#", end);
    if (end == std::string::npos) {
      end = doc.size();
      break;
    }
    const size_t hashes = doc.find(' ', end + 1) - (end + 1);
    if (hashes <= level) {
      break;
    }
    ++end;
  }
  std::string body = doc.substr(start, end - start);
  body.erase(0, body.find_first_not_of(" \n"));
  return body;
}

void check_complete(const std::string& doc) {
  for (std::string_view h : gap_report_headings()) {
    INFO(h);
    CHECK_FALSE(section_body(doc, h).empty());
  }
  CHECK(doc.find("PyTorch") != std::string::npos);
  CHECK(doc.find("transformers") != std::string::npos);
  CHECK(doc.find("vLLM") != std::string::npos);
  CHECK(doc.find("SGLang") != std::string::npos);
  const std::string parallelism = section_body(doc, "## Parallelism");
  for (std::string_view p : {"TP", "EP", "PP", "CP", "SP"}) {
    CHECK(parallelism.find(p) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("the MLA gap report of DeepSeek-V2-Lite is complete and carries its numbers") {
  Mapped m = corpus_model("deepseek-ai__DeepSeek-V2-Lite");
  auto sections = sections_of(m);
  REQUIRE(sections.count("MultiHeadLatentAttentionLayer"));
  CHECK(gap_file_name("MultiHeadLatentAttentionLayer") == "mla.md");
  const std::string doc = render_gap_report(
      "MultiHeadLatentAttentionLayer",
      {{"deepseek-ai_DeepSeek-V2-Lite", sections["MultiHeadLatentAttentionLayer"]}});
  check_complete(doc);
  CHECK(doc.find("Models: `deepseek-ai_DeepSeek-V2-Lite`.") != std::string::npos);
  // kv_a_proj_with_mqa 2048·(512+64) = 1,179,648; the formula sums to the stored count.
  CHECK(doc.find("2048·(512+64) = 1,179,648") != std::string::npos);
  CHECK(doc.find("equals the stored 13,763,072") != std::string::npos);
  // Latent cache (512 + 64)·2 B = 1,152 B per token per layer.
  CHECK(doc.find("(512+64)·2 = 1,152 B") != std::string::npos);
  CHECK(doc.find("27 units repeat it (layers 0–26)") != std::string::npos);
  CHECK(doc.find("`model.layers.0.self_attn.kv_b_proj.weight` | (4096, 512) | BF16 | 2,097,152") !=
        std::string::npos);
}

TEST_CASE("the gated delta-net gap report of Qwen3-Next is complete and carries its numbers") {
  Mapped m = corpus_model("Qwen__Qwen3-Next-80B-A3B-Thinking");
  auto sections = sections_of(m);
  REQUIRE(sections.count("GatedDeltaNetLayer"));
  CHECK(gap_file_name("GatedDeltaNetLayer") == "gated_deltanet.md");
  const std::string doc = render_gap_report(
      "GatedDeltaNetLayer", {{"Qwen_Qwen3-Next-80B-A3B-Thinking", sections["GatedDeltaNetLayer"]}});
  check_complete(doc);
  // in_proj_qkvz 2048·(2·16·128 + 2·32·128) = 25,165,824
  CHECK(doc.find("= 25,165,824") != std::string::npos);
  CHECK(doc.find("equals the stored") != std::string::npos);
  // State 32·128·128·4 B = 2,097,152 B per layer.
  CHECK(doc.find("32·128·128·4 = 2,097,152 B") != std::string::npos);
  CHECK(sections.count("MultiTokenPredictionLayer"));
  CHECK(sections.count("OutputHeadLayer"));
}

TEST_CASE("a second model with the same class adds its section and keeps the first") {
  Mapped a = corpus_model("meta-llama__Llama-3.2-1B-Instruct");  // tied: no lm_head
  Mapped b = corpus_model("meta-llama__Llama-3.1-8B");
  Mapped c = corpus_model("Qwen__Qwen3-8B");
  CHECK_FALSE(sections_of(a).count("OutputHeadLayer"));
  const std::string first = render_gap_report(
      "OutputHeadLayer", {{"meta-llama_Llama-3.1-8B", sections_of(b)["OutputHeadLayer"]}});
  auto merged = parse_gap_sections(first);
  REQUIRE(merged.size() == 1);
  merged["Qwen_Qwen3-8B"] = sections_of(c)["OutputHeadLayer"];
  const std::string second = render_gap_report("OutputHeadLayer", merged);
  CHECK(second.find("Models: `Qwen_Qwen3-8B`, `meta-llama_Llama-3.1-8B`.") != std::string::npos);
  CHECK(second.find("### meta-llama_Llama-3.1-8B") != std::string::npos);
  CHECK(second.find("### Qwen_Qwen3-8B") != std::string::npos);
  // Re-rendering from its own sections gives the same bytes: the report is deterministic.
  CHECK(render_gap_report("OutputHeadLayer", parse_gap_sections(second)) == second);
  check_complete(second);
}

TEST_CASE("Mamba, buffer and cross-attention reports carry each model's numbers") {
  Mapped mamba = corpus_model("state-spaces__mamba-130m-hf");
  auto s = sections_of(mamba);
  REQUIRE(s.count("MambaMixerLayer"));
  const std::string doc = render_gap_report("MambaMixerLayer", {{"x", s["MambaMixerLayer"]}});
  check_complete(doc);
  CHECK(doc.find("equals the stored") != std::string::npos);
  Mapped gpt2 = corpus_model("openai-community__gpt2");
  CHECK(sections_of(gpt2).count("Buffer"));
  Mapped t5 = corpus_model("google__flan-t5-large");
  CHECK(sections_of(t5).count("CrossAttentionLayer"));
}

TEST_CASE("an RWKV model reaches the RWKV templates") {
  const std::string config = R"({"model_type": "rwkv", "hidden_size": 4, "num_hidden_layers": 1,
    "vocab_size": 6})";
  Mapped m =
      test::model_of(config, {{"rwkv.blocks.0.attention.time_decay", "F32", {4}},
                              {"rwkv.blocks.0.attention.key.weight", "F32", {4, 4}},
                              {"rwkv.blocks.0.attention.receptance.weight", "F32", {4, 4}},
                              {"rwkv.blocks.0.feed_forward.key.weight", "F32", {8, 4}},
                              {"rwkv.blocks.0.feed_forward.receptance.weight", "F32", {4, 4}}});
  auto s = sections_of(m);
  REQUIRE(s.count("RWKVTimeMixLayer"));
  REQUIRE(s.count("RWKVChannelMixLayer"));
  CHECK(gap_file_name("RWKVTimeMixLayer") == "rwkv_time_mix.md");
  check_complete(render_gap_report("RWKVTimeMixLayer", {{"test_model", s["RWKVTimeMixLayer"]}}));
}

TEST_CASE("a class left out by a replacement catalog gets a generic report") {
  CHECK(gap_file_name("SlidingWindowAttentionLayer") == "sliding_window_attention_layer.md");
  auto catalog = parse_catalog("c", R"({"classes": [{"class": "NormLayer", "params": []}]})");
  REQUIRE(catalog);
  Mapped m = corpus_model("google__gemma-2-9b");
  auto s = render_gap_sections(m.model, m.params, m.map, *catalog, "google_gemma-2-9b");
  REQUIRE(s.count("SlidingWindowAttentionLayer"));
  check_complete(render_gap_report("SlidingWindowAttentionLayer",
                                   {{"google_gemma-2-9b", s["SlidingWindowAttentionLayer"]}}));
}

TEST_CASE("each class the mapper emits beside or instead of a catalog class has its own template") {
  const std::pair<std::string_view, std::string_view> files[] = {
      {"AttentionSinksLayer", "attention_sinks.md"},
      {"MoERouterBiasLayer", "moe_router_bias.md"},
      {"AttentionBiasLayer", "attention_bias.md"},
      {"MLPBiasLayer", "mlp_bias.md"},
      {"ExpertBiasLayer", "expert_bias.md"},
      {"SharedExpertGateLayer", "shared_expert_gate.md"},
      {"RelativePositionBiasLayer", "relative_position_bias.md"},
      {"GatedAttentionLayer", "gated_attention.md"},
      {"CustomAttentionLayer", "custom_attention.md"},
      {"CustomMLPLayer", "custom_mlp.md"},
      {"CustomMoELayer", "custom_moe.md"},
      {"CustomNormLayer", "custom_norm.md"},
      {"CustomEmbeddingLayer", "custom_embedding.md"},
  };
  for (const auto& [layer_class, file] : files) {
    INFO(layer_class);
    CHECK(gap_file_name(layer_class) == file);
    const std::string doc = render_gap_report(layer_class, {});
    // The class's own template, not the fallback for catalog classes a catalog left out.
    CHECK(doc.find("The estimator's default catalog models this class") == std::string::npos);
    for (std::string_view h : {"## What it computes", "## References", "## Parallelism"}) {
      INFO(h);
      CHECK_FALSE(section_body(doc, h).empty());
    }
    for (std::string_view source : {"PyTorch", "transformers", "vLLM", "SGLang"}) {
      INFO(source);
      CHECK(doc.find(source) != std::string::npos);
    }
    const std::string parallelism = section_body(doc, "## Parallelism");
    for (std::string_view p : {"TP", "EP", "PP", "CP", "SP"}) {
      INFO(p);
      CHECK(parallelism.find(p) != std::string::npos);
    }
  }
}

TEST_CASE("the attention-bias report of Qwen2.5 counts the q, k, v biases its attention leaves") {
  Mapped m = corpus_model("Qwen__Qwen2.5-7B-Instruct");
  auto sections = sections_of(m);
  REQUIRE(sections.count("AttentionBiasLayer"));
  const std::string doc = render_gap_report(
      "AttentionBiasLayer", {{"Qwen_Qwen2.5-7B-Instruct", sections["AttentionBiasLayer"]}});
  check_complete(doc);
  // 28 heads and 4 KV heads of 128 (config.json): q 3584, k and v 512 each; o has no bias.
  CHECK(doc.find("q_dim + 2·kv_dim = 3584 + 2·512 = 4,608") != std::string::npos);
  CHECK(doc.find("which equals the stored 4,608") != std::string::npos);
  CHECK(doc.find("`model.layers.0.self_attn.q_proj.bias` | (3584,) | BF16 | 3,584") !=
        std::string::npos);
  CHECK(doc.find("28 units repeat it (layers 0–27)") != std::string::npos);
}

TEST_CASE("Qwen3-Next's gated attention and shared-expert gate reports carry its numbers") {
  Mapped m = corpus_model("Qwen__Qwen3-Next-80B-A3B-Thinking");
  auto sections = sections_of(m);
  REQUIRE(sections.count("GatedAttentionLayer"));
  REQUIRE(sections.count("SharedExpertGateLayer"));
  const std::string attention =
      render_gap_report("GatedAttentionLayer",
                        {{"Qwen_Qwen3-Next-80B-A3B-Thinking", sections["GatedAttentionLayer"]}});
  check_complete(attention);
  // q_proj holds a query and a gate per head: 2048·2·16·256 (config.json: 16 heads of 256).
  CHECK(attention.find("H·2·n·d = 2048·2·16·256 = 16,777,216") != std::string::npos);
  CHECK(attention.find("`model.layers.3.self_attn.q_proj.weight` | (8192, 2048) | BF16") !=
        std::string::npos);
  // KV cache as GQA: 2 KV heads of 256 at 2 B, 2·2·256·2 = 2,048 B per token per layer.
  CHECK(attention.find("2·2·256·2 = 2,048 B") != std::string::npos);
  const std::string gate =
      render_gap_report("SharedExpertGateLayer",
                        {{"Qwen_Qwen3-Next-80B-A3B-Thinking", sections["SharedExpertGateLayer"]}});
  check_complete(gate);
  CHECK(gate.find("H = 2,048, which equals the stored 2,048") != std::string::npos);
}

TEST_CASE("T5's relative position bias report reads the bucket count off its table") {
  Mapped m = corpus_model("google__flan-t5-large");
  auto sections = sections_of(m);
  REQUIRE(sections.count("RelativePositionBiasLayer"));
  const std::string doc =
      render_gap_report("RelativePositionBiasLayer",
                        {{"google_flan-t5-large", sections["RelativePositionBiasLayer"]}});
  check_complete(doc);
  // relative_attention_num_buckets 32 and num_heads 16 in config.json.
  CHECK(doc.find("num_buckets·n = 32·16 = 512") != std::string::npos);
  CHECK(doc.find("which equals the stored 512") != std::string::npos);
  // A bucket table, not a matrix product.
  CHECK(doc.find("FLOPs in the matrix products") == std::string::npos);
}
