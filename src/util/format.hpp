// Numbers as people read them in reports and messages.
#pragma once

#include <cstdint>
#include <string>

namespace mbuild {

// "70.55B", "124.44M", "6.7K": two decimals, the way model cards round.
std::string format_count(uint64_t n);
// "70,553,706,496": thousands separated by commas.
std::string format_grouped(uint64_t n);
// "131.41 GiB"
std::string format_bytes(uint64_t n);

}  // namespace mbuild
