// Concurrent HTTP fetches over libcurl, on one connection pool per process: per-host connection
// caps, keep-alive reuse across calls and sources, HTTP/2 multiplexing when a TLS server offers
// it, a per-host request window that halves on congestion and grows back on success (AIMD),
// manual redirects (token only to the endpoint's origin), retries with jittered backoff, and
// RateLimit / Retry-After honoured per host.
// Nothing here names a CURL type: callers see plain data.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mbuild/snapshot/snapshot.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild::hub {

// Network defaults in one place.
struct HttpSettings {
  std::string endpoint;  // scheme://host[:port] the token may be sent to
  std::string token;     // empty: anonymous
  std::string user_agent = "mbuild/" MBUILD_VERSION;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds low_speed_time{10};  // abort when < 1 byte/s for this long
  // Pool-wide (the first call with a given pair creates the pool every later one shares).
  unsigned max_in_flight = 64;    // requests in flight at once, all hosts together
  unsigned max_connections = 16;  // open connections per host (HTTP/1.1 and HTTP/2 alike)
  // The process's descriptor limit (RLIMIT_NOFILE): open connections in all stay below it, with
  // room for the files a run opens; named when descriptors still run out. 0: unknown.
  unsigned fd_limit = 0;
  // TLS trust: a CA bundle file and/or a folder of hashed certificates; empty: libcurl's default.
  std::string ca_file;
  std::string ca_path;
  unsigned max_attempts = 5;                     // per request, retries included
  std::chrono::milliseconds backoff_base{200};   // doubled per retry, with jitter
  std::chrono::seconds max_rate_limit_wait{60};  // cap on 429 waits
  unsigned max_redirects = 10;
};

// One logical fetch: a URL, possibly redirected several times, possibly retried.
struct Fetch {
  // What to fetch.
  std::string url;
  std::string resolve_url;  // where to re-resolve an expired CDN URL (default: url)
  bool head_only = false;
  std::optional<uint64_t> range_end;  // GET bytes=range_start-range_end (inclusive)
  uint64_t range_start = 0;
  bool safetensors_head = false;  // keep only the 8 + N header bytes of what arrives
  // A redirect to another origin (the Hub's 302 to its CDN) ends the fetch: status 3xx,
  // final_url the Location, Hub headers (X-Linked-Size, X-Repo-Commit) kept.
  bool stop_at_other_origin = false;
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

struct FetchBatch;

// Fetches added while others are in flight, on the process's pool for these settings (which
// must outlive the queue): each starts at once; next_done() hands them back as they complete.
// One thread uses a queue; the destructor waits for what is still in flight.
class FetchQueue {
 public:
  explicit FetchQueue(const HttpSettings& settings);
  ~FetchQueue();
  FetchQueue(const FetchQueue&) = delete;
  FetchQueue& operator=(const FetchQueue&) = delete;

  void add(Fetch* fetch);
  // The next fetch to complete; null once none is pending.
  Fetch* next_done();
  // What the queue's requests cost so far (complete once next_done() returned null).
  const TransferSummary& stats() const;

 private:
  std::unique_ptr<FetchBatch> m_batch;
};

// Adds `from`'s wire figures (requests, connections, HTTP/2, retries, congestion, bytes) to `to`.
void add_wire(TransferSummary& to, const TransferSummary& from);

// Runs every fetch to completion on the process's pool for these settings. `on_done`
// (optional) is called after each fetch completes, from the calling thread; `stats` (optional)
// has what the call cost on the wire added to it (requests, connections, HTTP/2, retries,
// congestion, bytes). Several threads may call at once: their requests share the
// pool's connections and per-host caps.
void run_fetches(std::vector<Fetch*> fetches, const HttpSettings& settings,
                 const std::function<void(const Fetch&)>& on_done = {},
                 TransferSummary* stats = nullptr);

// A URL without its secrets, for messages and outputs: no user:password@ in the authority and
// the query (signatures) cut off.
std::string redact_url(const std::string& url);

// Percent-encodes for a URL path segment; '/' is kept when keep_slash.
std::string url_encode(std::string_view s, bool keep_slash);

}  // namespace mbuild::hub
