// A family contract as YAML, in the layout contracts/*.yaml use (emit-contract).
#pragma once

#include <string>

#include "mbuild/arch/family_contract.hpp"

namespace mbuild {

// Deterministic YAML (keys in the contract's order, names and expressions quoted) that
// parse_family_contract reads back to the same contract.
std::string render_family_contract_yaml(const FamilyContract& contract);

}  // namespace mbuild
