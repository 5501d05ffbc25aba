// Expected failures as values: every fallible core function returns Result<T>.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace mbuild {

// What went wrong, in the terms the CLI maps to an exit code (DESIGN.md "Exit codes").
enum class ErrorKind {
  usage = 2,          // bad flag, bad number, unknown format
  bad_input = 3,      // malformed or inconsistent config / index / header / contract
  not_found = 4,      // repo, revision or file
  access_denied = 5,  // gated or private repo, bad or missing token
  network = 6,        // timeout, connection failure, 5xx/429 after retries, offline miss
  io = 7,             // local write failure (kept distinct inside; maps to 3 at the edge)
};

struct Error {
  Error() = default;
  Error(ErrorKind k, std::string w, std::string y, std::string h = {})
      : kind(k), what(std::move(w)), why(std::move(y)), hint(std::move(h)) {}

  ErrorKind kind = ErrorKind::bad_input;
  std::string what;  // the file, repo, field or URL (redacted) concerned
  std::string why;   // the fault, in one clause
  std::string hint;  // optional advice, e.g. "set HF_TOKEN or pass --token"

  // "<what>: <why>" as printed after "mbuild: error: ", control characters escaped: a name read
  // from a file or the network never breaks the line or reaches the terminal as a command.
  std::string message() const {
    std::string s = what.empty() ? why : what + ": " + why;
    if (!hint.empty()) {
      s += " (" + hint + ")";
    }
    return escape_control(s);
  }

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

// The process exit code for an error kind.
inline int exit_code(ErrorKind kind) {
  return kind == ErrorKind::io ? 3 : static_cast<int>(kind);
}

}  // namespace mbuild
