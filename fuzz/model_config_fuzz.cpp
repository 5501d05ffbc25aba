// Fuzzes config.json normalisation: parsing, the alias table, family defaults, the derived
// per-layer attention and MLP kinds, and the quantization block.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/layer_model.hpp"
#include "analysis/layer_pattern.hpp"
#include "mbuild/model/model_config.hpp"

namespace {

// Lookups the parse itself does not make: an alias nested in an object, a field with no alias.
constexpr std::string_view k_lookups[] = {"attn_config.n_heads", "sliding_window_pattern",
                                          "not_an_alias"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto config = mbuild::parse_model_config("config.json", input);
  if (!config) {
    return 0;
  }
  for (std::string_view name : k_lookups) {
    (void)config->count(name);
    (void)config->number(name);
    (void)config->flag(name);
    (void)config->find(name);
  }
  (void)config->is_moe();
  // The per-layer kinds come from num_layers (capped) or from a list in the file.
  if (config->layer_attention.size() > 100'000 + size ||
      config->layer_mlp.size() > 100'000 + size) {
    std::abort();
  }
  // The layer model of a config-only source, and the pattern drawn from it.
  const mbuild::LayerModel layers = mbuild::build_layer_model(&*config, nullptr);
  const std::vector<std::string> kinds =
      mbuild::layer_labels(layers.mixers, layers.ffns, config->layer_nope, config->layer_indexer);
  (void)mbuild::compress_layer_pattern(kinds);
  (void)mbuild::tally_layer_kinds(kinds);
  return 0;
}
