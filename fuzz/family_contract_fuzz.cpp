// Fuzzes family contract parsing (YAML through yaml-cpp) and shape-template evaluation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mbuild/arch/family_contract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto contract = mbuild::parse_family_contract("contracts/fuzz.yaml", input);
  if (!contract) {
    if (contract.error().why.empty() || contract.error().kind != mbuild::ErrorKind::bad_input) {
      std::abort();  // every failure is bad input and says why
    }
    return 0;
  }
  if (contract->family.empty() || contract->size_variants.empty()) {
    std::abort();
  }
  for (const auto& [role, expression] : contract->shape_template) {
    for (const mbuild::SizeVariant& v : contract->size_variants) {
      (void)mbuild::evaluate_shape(role, expression, v.dims);
    }
  }
  return 0;
}
