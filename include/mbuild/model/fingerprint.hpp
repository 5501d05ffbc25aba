// The architecture fingerprint: the first 16 hex digits of SHA-256 over the canonical JSON of
// the config fields that change the built model (DESIGN.md "Family contracts and
// fingerprint"; the field list is in docs/contracts.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "mbuild/model/model_config.hpp"

namespace mbuild {

inline constexpr size_t k_fingerprint_hex_digits = 16;

// The fields the fingerprint covers, under their canonical names, read through the alias table
// and text_config nesting; fields the config does not state are left out (never null).
// nlohmann::json keeps keys sorted, so dump() is the canonical form (compact, integers as
// integers).
nlohmann::json fingerprint_fields(const ModelConfig& config);

// SHA-256 of fingerprint_fields(config).dump(), as 16 lower-case hex digits.
std::string fingerprint(const ModelConfig& config);

// SHA-256 of `bytes` as 64 lower-case hex digits (OpenSSL's EVP interface).
std::string sha256_hex(std::string_view bytes);

}  // namespace mbuild
