// The family table: one row per model_type, and the traits the later stages ask it for.
#include "mbuild/arch/family.hpp"

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "unit/model/kind_names.hpp"

#include "mbuild/model/model_config.hpp"

using namespace mbuild;

using mbuild::test::names;

TEST_CASE("family table: one row per model_type, and unknown families get the defaults") {
  std::set<std::string_view> seen;
  for (const FamilyTraits& f : known_families()) {
    INFO(f.model_type);
    CHECK(!f.model_type.empty());
    CHECK(seen.insert(f.model_type).second);
  }
  const FamilyTraits& unknown = family_traits("no_such_family");
  CHECK(unknown.model_type.empty());
  CHECK(unknown.schedule == LayerSchedule::uniform);
  CHECK_FALSE(unknown.gated_ffn);
}

TEST_CASE("family table: the Mamba family is one list, read the same by every stage") {
  // transformers: MambaConfig, Mamba2Config and FalconMambaConfig are attention-free, and all
  // three normalise with RMSNorm.
  for (std::string_view mt : {"mamba", "mamba2", "falcon_mamba"}) {
    INFO(mt);
    CHECK(family_traits(mt).schedule == LayerSchedule::ssm);
    CHECK(family_traits(mt).rms_norm);
  }
  CHECK(family_traits("mamba").ssm_width_is_intermediate);
  CHECK_FALSE(family_traits("mamba2").ssm_width_is_intermediate);
  CHECK(family_traits("jamba").schedule == LayerSchedule::jamba);
}

TEST_CASE("family table: a family's schedule lays out config layers") {
  // Gemma 2 alternates sliding and full attention, starting with sliding (Gemma2Config's
  // layer_types default: "sliding_attention" when (i + 1) % 2 else "full_attention").
  auto cfg = parse_model_config(
      "config.json",
      R"({"model_type":"gemma2","hidden_size":8,"num_hidden_layers":4,"num_attention_heads":2,)"
      R"("sliding_window":4096,"vocab_size":16})");
  REQUIRE(cfg);
  CHECK(names(cfg->layer_attention) ==
        std::vector<std::string>{"sliding_attention", "full_attention", "sliding_attention",
                                 "full_attention"});
  // Falcon: multi_query without the new decoder architecture means one KV head.
  auto falcon = parse_model_config(
      "config.json",
      R"({"model_type":"falcon","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,)"
      R"("multi_query":true,"vocab_size":16})");
  REQUIRE(falcon);
  CHECK(falcon->num_kv_heads == 1U);
  CHECK(falcon->intermediate_size == 32U);  // 4 x hidden
}

TEST_CASE("family table: aliases and family defaults") {
  const ConfigAlias* hidden = find_config_alias("hidden_size");
  REQUIRE(hidden);
  CHECK(hidden->paths.find("n_embd") != std::string_view::npos);
  CHECK(find_config_alias("no_such_field") == nullptr);
  // Gemma3TextConfig's vocab_size default.
  CHECK(family_default("gemma3_text", "vocab_size") == 262208.0);
  CHECK_FALSE(family_default("llama", "vocab_size").has_value());
}
