// Concurrent HTTP fetches over libcurl: manual redirects (token only to the endpoint's origin),
// retries with backoff, Range reads that stop once a safetensors header is in.
// Nothing here names a CURL type: callers see plain data.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mbuild/util/error.hpp"

namespace mbuild::hub {

// Network defaults in one place.
struct HttpSettings {
  std::string endpoint;  // scheme://host[:port] the token may be sent to
  std::string token;     // empty: anonymous
  std::string user_agent = "mbuild/" MBUILD_VERSION;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds low_speed_time{10};  // abort when < 1 byte/s for this long
  unsigned max_in_flight = 64;
  unsigned max_attempts = 5;                     // per request, retries included
  std::chrono::milliseconds backoff_base{200};   // doubled per retry
  std::chrono::seconds max_rate_limit_wait{60};  // cap on 429 waits
  unsigned max_redirects = 10;
};

// One logical fetch: a URL, possibly redirected several times, possibly retried.
struct Fetch {
  // What to fetch.
  std::string url;
  std::string resolve_url;  // where to re-resolve an expired CDN URL (default: url)
  bool head_only = false;
  std::optional<uint64_t> range_end;  // GET bytes=0-range_end (inclusive)
  uint64_t range_start = 0;
  bool safetensors_head = false;  // stop once 8 + N bytes have arrived
  uint64_t max_body = 64ull << 20;

  // What came back (the final hop).
  long status = 0;
  std::string body;
  std::string final_url;
  std::optional<uint64_t> total_size;  // Content-Range total, else X-Linked-Size, else length
  std::string repo_commit;             // X-Repo-Commit from a Hub hop
  std::string linked_etag;
  std::string error_code;     // X-Error-Code
  std::string error_message;  // X-Error-Message, else the JSON body's "error"
  std::string content_encoding;
  bool range_ignored = false;  // 200 to a Range request
  std::optional<Error> error;  // transport failure after retries, redirect loop, ...
  unsigned attempts = 0;
  unsigned redirects = 0;
};

// Runs every fetch to completion, at most settings.max_in_flight at once. `on_done` (optional)
// is called after each fetch completes, from the calling thread.
void run_fetches(std::vector<Fetch*> fetches, const HttpSettings& settings,
                 const std::function<void(const Fetch&)>& on_done = {});

// A URL without its secrets, for messages and outputs: no user:password@ in the authority and
// the query (signatures) cut off.
std::string redact_url(const std::string& url);

// Percent-encodes for a URL path segment; '/' is kept when keep_slash.
std::string url_encode(std::string_view s, bool keep_slash);

}  // namespace mbuild::hub
