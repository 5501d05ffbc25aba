// A reader for the plain subset of JSON that machine-written headers and indexes use: ASCII
// strings without escapes, unsigned integers without sign, fraction or exponent. Anything else
// makes a read return false; the caller then starts over with the full parser (simdjson), so
// every error message stays that parser's and the reader never has to explain a fault.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mbuild {

class PlainJsonReader {
 public:
  // `json` must be followed by at least 16 readable bytes (a ByteBuffer's padding).
  explicit PlainJsonReader(std::string_view json)
      : m_p(json.data()), m_end(json.data() + json.size()) {}

  // Skips whitespace, then consumes `c` if it comes next.
  bool consume(char c) {
    skip_space();
    if (*m_p == c && m_p < m_end) {
      ++m_p;
      return true;
    }
    return false;
  }

  // Consumes `text` if the input continues with exactly these bytes (no whitespace skipped).
  template <size_t N>
  bool skip(const char (&text)[N]) {
    if (static_cast<size_t>(m_end - m_p) >= N - 1 && equal_bytes<N - 1>(m_p, text)) {
      m_p += N - 1;
      return true;
    }
    return false;
  }

  const char* position() const { return m_p; }
  void rewind(const char* at) { m_p = at; }

  // True when only whitespace is left.
  bool at_end() {
    skip_space();
    return m_p == m_end;
  }

  // Reads a string with no escape, control or non-ASCII byte; `out` views the input.
  bool read_string(std::string_view& out) {
    if (!consume('"')) {
      return false;
    }
    const char* p = m_p;
#if defined(__SSE2__)
    // 16 bytes at a time: a quote, a backslash, or a byte below 0x20 as a signed char
    // (control bytes and every non-ASCII byte) stops the scan.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    for (;;) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_cmplt_epi8(v, space));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
      if (mask != 0) {
        p += __builtin_ctz(mask);
        break;
      }
      p += 16;
      if (p >= m_end) {
        return false;
      }
    }
#else
    while (p < m_end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20 &&
           static_cast<unsigned char>(*p) < 0x80) {
      ++p;
    }
#endif
    if (p >= m_end || *p != '"') {
      return false;
    }
    out = std::string_view(m_p, static_cast<size_t>(p - m_p));
    m_p = p + 1;
    return true;
  }

  // Reads an unsigned integer of at most 19 digits (so it fits in 64 bits).
  bool read_u64(uint64_t& out) {
    skip_space();
    const char* p = m_p;
    uint64_t v = 0;
    size_t digits = 0;
    for (;;) {
      // Eight bytes at a time (the padding keeps them readable): the run of digits, then its
      // value, as fast_float's parse_eight_digits_unrolled computes it.
      size_t n = 0;
      uint64_t chunk = 0;
      if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&chunk, p, 8);
        chunk -= 0x3030303030303030;
        const uint64_t stop = (chunk | (chunk + 0x7676767676767676)) & 0x8080808080808080;
        n = stop == 0 ? 8 : static_cast<size_t>(std::countr_zero(stop)) / 8;
      } else {
        while (n < 8 && is_digit(p[n])) {
          ++n;
        }
      }
      n = std::min(n, static_cast<size_t>(m_end - p));
      if (n == 0) {
        break;
      }
      if (digits + n > 19) {
        return false;
      }
      v = v * k_pow10[n] + eight_digits(p, chunk, n);
      digits += n;
      p += n;
      if (n < 8) {
        break;
      }
    }
    // JSON has no leading zeros, and a fraction or exponent makes a float.
    if (digits == 0 || (digits > 1 && *m_p == '0')) {
      return false;
    }
    if (p < m_end && (*p == '.' || *p == 'e' || *p == 'E')) {
      return false;
    }
    out = v;
    m_p = p;
    return true;
  }

 private:
  static constexpr uint64_t k_pow10[9] = {1,      10,      100,      1000,     10000,
                                          100000, 1000000, 10000000, 100000000};

  static bool is_digit(char c) {
    return c >= '0' && c <= '9';
  }

  // The value of the n (1..8) digits at p; `chunk` holds their 8 bytes minus '0' each.
  static uint64_t eight_digits(const char* p, uint64_t chunk, size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
      // Shifted so the n digits are the last of eight, behind leading zeros.
      uint64_t v = chunk << (8 * (8 - n));
      v = (v * 10) + (v >> 8);
      v = (((v & 0x000000FF000000FF) * (100 + (1000000ULL << 32))) +
           (((v >> 16) & 0x000000FF000000FF) * (1 + (10000ULL << 32)))) >>
          32;
      return v & 0xFFFFFFFF;
    } else {
      uint64_t v = 0;
      for (size_t i = 0; i < n; ++i) {
        v = v * 10 + static_cast<uint64_t>(p[i] - '0');
      }
      return v;
    }
  }

  // Whether the n bytes at a and b are equal, compared a word at a time.
  template <size_t n>
  static bool equal_bytes(const char* a, const char* b) {
    if constexpr (n >= 8) {
      uint64_t x = 0, y = 0;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      return x == y && equal_bytes<n - 8>(a + 8, b + 8);
    } else if constexpr (n >= 4) {
      uint32_t x = 0, y = 0;
      std::memcpy(&x, a, 4);
      std::memcpy(&y, b, 4);
      return x == y && equal_bytes<n - 4>(a + 4, b + 4);
    } else if constexpr (n >= 1) {
      return *a == *b && equal_bytes<n - 1>(a + 1, b + 1);
    } else {
      return true;
    }
  }

  // The byte at m_end is padding, so it may be read before the bounds check.
  void skip_space() {
    while (static_cast<unsigned char>(*m_p) <= ' ' && m_p < m_end &&
           (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t')) {
      ++m_p;
    }
  }

  const char* m_p;
  const char* m_end;
};

}  // namespace mbuild
