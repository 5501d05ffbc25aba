#include "mbuild/model/tensor_name.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mbuild {
namespace {

// Segment names that hold a decoder layer's index right after them.
constexpr std::string_view k_layer_containers[] = {
    "layers",         "layer",          "h",  "blocks", "block",
    "decoder_layers", "encoder_layers", "blk"};  // GGUF: blk.N.attn_q.weight

// Last segments that name a tensor of a module rather than a module.
constexpr std::string_view k_param_segments[] = {"weight",
                                                 "bias",
                                                 "qweight",
                                                 "qzeros",
                                                 "scales",
                                                 "biases",
                                                 "g_idx",
                                                 "gamma",
                                                 "beta",
                                                 "weight_packed",
                                                 "weight_scale",
                                                 "weight_shape",
                                                 "weight_zero_point",
                                                 "weight_g_idx",
                                                 "weight_scale_inv",
                                                 "input_scale",
                                                 "weight_global_scale",
                                                 "input_global_scale",
                                                 "scb",
                                                 "weight_format",
                                                 "k_scale",
                                                 "v_scale",
                                                 "output_scale"};

bool is_layer_container(std::string_view lower_segment) {
  // Most segments are ruled out by their first letter before any comparison.
  const char first = lower_segment.empty() ? '\0' : lower_segment.front();
  if (first != 'l' && first != 'h' && first != 'b' && first != 'd' && first != 'e') {
    return false;
  }
  return std::find(std::begin(k_layer_containers), std::end(k_layer_containers), lower_segment) !=
         std::end(k_layer_containers);
}

// Bit i of a mask is byte i of a name (at most k_max_pattern bytes).
using ByteMask = std::array<uint64_t, k_max_pattern / 64>;

// The first set bit at or after `from`; one must exist.
size_t next_set_bit(const ByteMask& mask, size_t from) {
  size_t word = from / 64;
  uint64_t bits = mask[word] & (~uint64_t{0} << (from % 64));
  while (bits == 0) {
    bits = mask[++word];
  }
  return word * 64 + static_cast<size_t>(std::countr_zero(bits));
}

// Whether bits [from, from + count) are all set.
bool all_set(const ByteMask& mask, size_t from, size_t count) {
  while (count > 0) {
    const size_t shift = from % 64;
    const size_t take = std::min(count, 64 - shift);
    const uint64_t want = (take == 64 ? ~uint64_t{0} : (uint64_t{1} << take) - 1) << shift;
    if ((mask[from / 64] & want) != want) {
      return false;
    }
    from += take;
    count -= take;
  }
  return true;
}

// Lower-cases `low[0, n]` in place and marks its dots and digits, a vector step at a time.
// `low` holds at least n + 1 + k_block bytes, zeros after byte n.
void classify_bytes(char* low, size_t n, ByteMask& dots, ByteMask& digits) {
  dots.fill(0);
  digits.fill(0);
#if defined(__SSE2__)
  const __m128i before_upper = _mm_set1_epi8('A' - 1), after_upper = _mm_set1_epi8('Z' + 1);
  const __m128i before_digit = _mm_set1_epi8('0' - 1), after_digit = _mm_set1_epi8('9' + 1);
  const __m128i dot = _mm_set1_epi8('.'), case_bit = _mm_set1_epi8(0x20);
  for (size_t b = 0; b <= n; b += k_block) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(low + b));
    const __m128i upper =
        _mm_and_si128(_mm_cmpgt_epi8(v, before_upper), _mm_cmplt_epi8(v, after_upper));
    v = _mm_or_si128(v, _mm_and_si128(upper, case_bit));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(low + b), v);
    const auto dot_bits = static_cast<uint64_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, dot)));
    const auto digit_bits = static_cast<uint64_t>(_mm_movemask_epi8(
        _mm_and_si128(_mm_cmpgt_epi8(v, before_digit), _mm_cmplt_epi8(v, after_digit))));
    dots[b / 64] |= dot_bits << (b % 64);
    digits[b / 64] |= digit_bits << (b % 64);
  }
#else
  for (size_t i = 0; i <= n; ++i) {
    char& ch = low[i];
    ch = static_cast<char>(ch | ((ch >= 'A' && ch <= 'Z') ? 0x20 : 0));
    dots[i / 64] |= uint64_t{ch == '.'} << (i % 64);
    digits[i / 64] |= uint64_t{ch >= '0' && ch <= '9'} << (i % 64);
  }
#endif
}

// scan_name for a name of fewer than 64 bytes and at most 32 segments, lower-cased in `low`
// (with its final '.'), whose dots and digits are bits of one word each. Only the segments that
// start with a digit are looked at one by one; the rest is copied in runs between them.
void scan_short_name(const char* low, size_t n, uint64_t dots, uint64_t digits,
                     NamePattern& pattern, std::optional<uint32_t>& layer) {
  const uint64_t valid = (uint64_t{1} << n) - 1;  // bytes of the name, not the final '.'
  const uint64_t others = ~digits & ~dots & valid;
  const uint64_t starts = ((dots << 1) | 1) & valid;  // first byte of each non-empty segment
  char* out = pattern.bytes.data();
  size_t copied = 0;  // bytes of `low` already in the pattern
  for (uint64_t candidates = starts & digits; candidates != 0; candidates &= candidates - 1) {
    const auto start = static_cast<size_t>(std::countr_zero(candidates));
    const auto end = static_cast<size_t>(std::countr_zero(dots >> start)) + start;
    const uint64_t segment = (uint64_t{1} << end) - (uint64_t{1} << start);
    if ((others & segment) != 0) {
      continue;  // a segment that merely starts with a digit
    }
    // An all-digit segment: "#", and the layer index when it follows a layer container.
    if (!layer && end - start <= 9 && start >= 2) {
      const uint64_t before = dots & ((uint64_t{1} << (start - 1)) - 1);
      const size_t prev_start =
          before == 0 ? 0 : static_cast<size_t>(64 - std::countl_zero(before));
      const uint64_t prev = (uint64_t{1} << (start - 1)) - (uint64_t{1} << prev_start);
      if ((others & prev) != 0 && is_layer_container({low + prev_start, start - 1 - prev_start})) {
        uint32_t value = 0;
        for (size_t i = start; i < end; ++i) {
          value = value * 10 + static_cast<uint32_t>(low[i] - '0');
        }
        layer = value;
      }
    }
    std::memcpy(out, low + copied, start - copied);
    out += start - copied;
    *out++ = '#';
    copied = end;
  }
  std::memcpy(out, low + copied, n + 1 - copied);
  out += n + 1 - copied;
  pattern.size = static_cast<size_t>(out - pattern.bytes.data());
}

}  // namespace

TensorName::TensorName(std::string_view name) : m_view(name) {
  if (std::any_of(name.begin(), name.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
    m_copy.assign(name);
    for (char& ch : m_copy) {
      if (ch >= 'A' && ch <= 'Z') {
        ch = static_cast<char>(ch - 'A' + 'a');
      }
    }
    m_view = m_copy;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = m_view.find('.', start);
    if (m_count == k_max_segments - 1 && dot != std::string_view::npos) {
      // Too many segments: the last one stands for the rest.
      m_segments[m_count++] = m_view.substr(m_view.rfind('.') + 1);
      break;
    }
    m_segments[m_count++] = m_view.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
}

bool TensorName::has_segment(std::string_view token) const {
  return std::find(begin(), end(), token) != end();
}

bool TensorName::has_segment_containing(std::string_view token) const {
  return std::any_of(begin(), end(),
                     [&](std::string_view s) { return s.find(token) != std::string_view::npos; });
}

std::optional<uint32_t> TensorName::expert_index() const {
  for (size_t s = 0; s + 1 < m_count; ++s) {
    const std::string_view next = m_segments[s + 1];
    if (m_segments[s] == "experts" && !next.empty() && next.size() <= 9 &&
        std::all_of(next.begin(), next.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      uint32_t value = 0;
      for (char ch : next) {
        value = value * 10 + static_cast<uint32_t>(ch - '0');
      }
      return value;
    }
  }
  return std::nullopt;
}

bool is_param_segment(std::string_view s) {
  return std::find(std::begin(k_param_segments), std::end(k_param_segments), s) !=
         std::end(k_param_segments);
}

Leaf leaf_of(const TensorName& name) {
  Leaf leaf;
  const std::string_view last = name.back();
  if (name.size() >= 2 && (last == "weight" || last == "qweight" || last == "weight_packed" ||
                           last == "gamma" || last == "kernel")) {
    return {std::string(name[name.size() - 2]), Leaf::weight};
  }
  if (name.size() >= 2 && (last == "bias" || last == "beta")) {
    return {std::string(name[name.size() - 2]), Leaf::bias};
  }
  leaf.module = last;
  // gpt-oss: experts.gate_up_proj_blocks / _bias; Llama 4: experts.gate_up_proj (3-D).
  if (leaf.module.ends_with("_blocks")) {
    leaf.module.resize(leaf.module.size() - 7);
    leaf.kind = Leaf::weight;
  } else if (leaf.module.ends_with("proj_bias")) {
    leaf.module.resize(leaf.module.size() - 5);
    leaf.kind = Leaf::bias;
  } else if (leaf.module.ends_with("proj") || leaf.module.ends_with("_weight")) {
    leaf.kind = Leaf::weight;
  }
  return leaf;
}

std::string module_of(std::string_view tensor_name) {
  // bitsandbytes: "<module>.weight.absmax", "<module>.weight.quant_state.bitsandbytes__nf4".
  if (auto pos = tensor_name.find(".weight."); pos != std::string_view::npos) {
    return std::string(tensor_name.substr(0, pos));
  }
  const auto dot = tensor_name.rfind('.');
  if (dot == std::string_view::npos) {
    return std::string(tensor_name);
  }
  std::string last(tensor_name.substr(dot + 1));
  for (char& c : last) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return is_param_segment(last) ? std::string(tensor_name.substr(0, dot))
                                : std::string(tensor_name);
}

void scan_name(std::string_view name, NamePattern& pattern, std::optional<uint32_t>& layer) {
  pattern.size = 0;
  pattern.complete = name.size() < k_max_pattern;
  layer.reset();
  if (!pattern.complete) {
    name = name.substr(0, k_max_pattern - 1);
  }
  // The name lower-cased, ended by a '.' so that every segment ends at a dot.
  const size_t n = name.size();
  std::array<char, k_max_pattern + k_block> low;
  std::memcpy(low.data(), name.data(), n);
  std::memset(low.data() + n, 0, k_block);
  low[n] = '.';
  ByteMask dots, digits;
  classify_bytes(low.data(), n, dots, digits);
  if (n < 64 && std::popcount(dots[0]) <= 32) {
    scan_short_name(low.data(), n, dots[0], digits[0], pattern, layer);
    return;
  }

  char* out = pattern.bytes.data();
  bool after_container = false;
  size_t start = 0;
  for (size_t count = 0; count < 32; ++count) {
    const size_t dot = next_set_bit(dots, start);
    const size_t size = dot - start;
    if (size > 0 && all_set(digits, start, size)) {
      if (after_container && !layer && size <= 9) {
        uint32_t value = 0;
        for (size_t i = start; i < dot; ++i) {
          value = value * 10 + static_cast<uint32_t>(low[i] - '0');
        }
        layer = value;
      }
      *out++ = '#';
      after_container = false;
    } else {
      // Whole vector steps: the overshoot is overwritten next, inside the slack.
      for (size_t i = 0; i < size; i += k_block) {
        std::memcpy(out + i, low.data() + start + i, k_block);
      }
      after_container = is_layer_container({out, size});
      out += size;
    }
    *out++ = '.';
    if (dot == n) {
      break;
    }
    start = dot + 1;
  }
  pattern.size = static_cast<size_t>(out - pattern.bytes.data());
}
}  // namespace mbuild
