// Which files hold a repo's weights, from its file list: GGUF quantizations at the root and in
// folders of their own, the pick by tag, and the tags that pick each one.
#include "snapshot/weight_layout.hpp"

#include <catch2/catch.hpp>

namespace mbuild {
namespace {

// A GGUF repo as bartowski and unsloth publish them: single files at the root, a large
// quantization's split set in a folder named for it, a vision projector beside them.
const std::vector<std::string> k_gguf_repo = {
    "README.md",
    "Qwen3-8B-Q4_K_M.gguf",
    "Qwen3-8B-Q8_0.gguf",
    "Qwen3-8B-UD-Q4_K_XL.gguf",
    "Qwen3-8B-Q4_K_XL.gguf",
    "BF16/Qwen3-8B-BF16-00002-of-00002.gguf",
    "BF16/Qwen3-8B-BF16-00001-of-00002.gguf",
    "mmproj-Qwen3-8B-F16.gguf",
    "deep/er/Qwen3-8B-Q2_K.gguf",
};

TEST_CASE("weight layout: GGUF variants at the root and one folder down, parts in order") {
  const std::vector<GgufVariant> v = gguf_variants(k_gguf_repo);
  REQUIRE(v.size() == 5);
  CHECK(v[0].name == "BF16/Qwen3-8B-BF16");
  CHECK(v[0].files == std::vector<std::string>{"BF16/Qwen3-8B-BF16-00001-of-00002.gguf",
                                               "BF16/Qwen3-8B-BF16-00002-of-00002.gguf"});
  CHECK(v[1].name == "Qwen3-8B-Q4_K_M");
}

TEST_CASE("weight layout: each variant's tag is the shortest end of its name that picks it") {
  const std::vector<GgufVariant> v = gguf_variants(k_gguf_repo);
  const std::vector<std::string> tags = gguf_tags(v);
  CHECK(tags == std::vector<std::string>{"BF16", "Q4_K_M", "8B-Q4_K_XL", "Q8_0", "UD-Q4_K_XL"});
  for (size_t i = 0; i < v.size(); ++i) {
    CHECK(find_gguf_variant(v, tags[i]) == &v[i]);
  }
  CHECK(find_gguf_variant(v, "Q4_K_XL") == nullptr);  // two end with it
}

TEST_CASE("weight layout: a tag picks its files, and one that matches none picks nothing") {
  WeightLayout picked = choose_weight_layout(k_gguf_repo, "bf16");
  CHECK(picked.gguf_files.size() == 2);
  CHECK(picked.files.empty());
  WeightLayout none = choose_weight_layout(k_gguf_repo, "Q5_K_M");
  CHECK(none.gguf_files.empty());
  CHECK(none.gguf_variants.size() == 5);
  // Several and none asked for: nothing picked, the variants listed.
  WeightLayout several = choose_weight_layout(k_gguf_repo);
  CHECK(several.gguf_files.empty());
  CHECK(several.gguf_variants.size() == 5);
}

TEST_CASE("weight layout: a tag asked for wins over safetensors beside the GGUF files") {
  const std::vector<std::string> both = {"config.json", "model.safetensors", "m-Q8_0.gguf"};
  CHECK(choose_weight_layout(both).files == std::vector<std::string>{"model.safetensors"});
  const WeightLayout tagged = choose_weight_layout(both, "Q8_0");
  CHECK(tagged.files.empty());
  CHECK(tagged.gguf_files == std::vector<std::string>{"m-Q8_0.gguf"});
  CHECK(tagged.other_weights.empty());
}

}  // namespace
}  // namespace mbuild
