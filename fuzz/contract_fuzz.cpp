// Fuzzes contract loading and its self-consistency checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mbuild/arch/contract.hpp"

namespace {

constexpr std::string_view k_fields[] = {
    "hidden_size",           "num_layers",  "num_heads", "num_kv_heads", "intermediate_size",
    "moe_intermediate_size", "num_experts", "top_k",     "vocab_size",   "head_dim",
    "sliding_window"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto contract = mbuild::parse_contract("models/fuzz_model.json", input);
  if (!contract) {
    if (contract.error().why.empty()) {
      std::abort();  // every failure says why
    }
    return 0;
  }
  if (contract->layer_types.empty()) {
    std::abort();
  }
  for (std::string_view name : k_fields) {
    (void)contract->field(name);
  }
  auto checks = mbuild::check_contract(*contract);
  if (checks.empty()) {
    std::abort();
  }
  return 0;
}
