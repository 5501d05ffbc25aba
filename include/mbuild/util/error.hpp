// Expected failures as values: every fallible core function returns Result<T>.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace mbuild {

// What went wrong, in the terms the CLI maps to an exit code (DESIGN.md "Exit codes"; the
// mapping itself is cli::exit_code).
enum class ErrorKind {
  usage = 2,          // bad flag, bad number, unknown format
  bad_input = 3,      // malformed or inconsistent config / index / header / contract
  not_found = 4,      // repo, revision or file
  access_denied = 5,  // gated or private repo, bad or missing token
  network = 6,        // timeout, connection failure, 5xx/429 after retries, offline miss
  io = 7,             // local write failure (kept distinct inside; maps to 3 at the edge)
  resource = 8,       // the machine ran out: file descriptors (maps to 7, like memory)
};

// The largest i <= at that does not split a UTF-8 sequence of `text`.
inline size_t utf8_boundary(std::string_view text, size_t at) {
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) {
    --at;
  }
  return at;
}

// A value read from a file or the command line, as echoed in an error: cut to `max` bytes
// (never inside a UTF-8 sequence) with an ellipsis, so a 100 KB value gives a short line.
inline std::string excerpt(std::string_view text, size_t max = 80) {
  if (text.size() <= max) {
    return std::string(text);
  }
  return std::string(text.substr(0, utf8_boundary(text, max))) + "…";
}

struct Error {
  Error() = default;
  Error(ErrorKind k, std::string w, std::string y, std::string h = {})
      : kind(k), what(std::move(w)), why(std::move(y)), hint(std::move(h)) {}

  ErrorKind kind = ErrorKind::bad_input;
  std::string what;  // the file, repo, field or URL (redacted) concerned
  std::string why;   // the fault, in one clause
  std::string hint;  // optional advice, e.g. "set HF_TOKEN or pass --token"

  // "<what>: <why>" as printed after "mbuild: error: ", control characters escaped: a name read
  // from a file or the network never breaks the line or reaches the terminal as a command. A
  // line longer than k_max_message_bytes keeps its start and its end around an ellipsis (values
  // echoed from a file are cut where they are quoted; this holds for the ones that are not).
  std::string message() const {
    std::string s = what.empty() ? why : what + ": " + why;
    if (!hint.empty()) {
      s += " (" + hint + ")";
    }
    s = escape_control(s);
    if (s.size() > k_max_message_bytes) {
      const size_t head = utf8_boundary(s, k_max_message_bytes - 100);
      const size_t tail = utf8_boundary(s, s.size() - 90);
      s = s.substr(0, head) + "…" + s.substr(tail);
    }
    return s;
  }

  static constexpr size_t k_max_message_bytes = 1000;

 private:
  // `text` with each control character (below 0x20, and 0x7f) as \xNN.
  static std::string escape_control(std::string_view text) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        out += "\\x";
        out += k_hex[u >> 4];
        out += k_hex[u & 15];
      } else {
        out += c;
      }
    }
    return out;
  }
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string what, std::string why,
                                  std::string hint = {}) {
  return tl::unexpected<Error>(Error{kind, std::move(what), std::move(why), std::move(hint)});
}

inline tl::unexpected<Error> bad_input(std::string what, std::string why) {
  return fail(ErrorKind::bad_input, std::move(what), std::move(why));
}

}  // namespace mbuild
