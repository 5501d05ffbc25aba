// A mock HuggingFace Hub for tests and benchmarks: a real HTTP server (cpp-httplib) on
// 127.0.0.1 and a separate "CDN" server on 127.0.0.2, serving repos from folders or memory.
// It follows /work/shared/HUB_PROTOCOL.md: resolve (307 for small files, 302 to the CDN for LFS
// files), resolve-cache, raw, /api/models (info, revision, tree, refs), the auth matrix, errors,
// rate limits and switchable faults. Every request is logged for assertions.
//
// Corpus safetensors files are header-only replicas: the mock reports and serves their full
// logical size (8 + N + last data_offsets end) and fills the missing data region with zeros.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mbuild::test {

// One repository the mock serves. Every revision serves the same files.
struct RepoSpec {
  enum class Type { model, dataset };
  enum class Access { public_, gated, private_ };

  std::string id;                            // "org/name" (or a legacy one-part name)
  Type type = Type::model;                   // datasets live under /datasets/ and /api/datasets/
  std::filesystem::path folder;              // files served from here, recursively (may be empty)
  std::map<std::string, std::string> files;  // in-memory files: path -> bytes; override folder
  std::set<std::string> hidden = {"REPLICA.md"};  // folder files not served (corpus notes)
  std::map<std::string, std::uint64_t> sizes;   // served size per path, overriding the computed one
  std::map<std::string, std::string> branches;  // name -> 40-hex commit; "" = derived_commit()
                                                // empty map = {"main": derived_commit(id,"main")}
  std::map<std::string, std::string> tags;      // name -> 40-hex commit; "" = derived_commit()
  std::map<int, std::string> prs;               // refs/pr/N -> commit; "" = derived_commit()
  Access access = Access::public_;
  std::set<std::string> approved_tokens;  // tokens granted a gated or private repo
  std::optional<std::string> renamed_to;  // this id moved: 307 to the new id's path
};

// A repo spec for a corpus folder named "<org>__<name>" (id "org/name").
RepoSpec corpus_repo(const std::filesystem::path& folder);

// One request as the mock saw it (recorded before the body is sent).
struct RequestRecord {
  std::string host;                       // "127.0.0.1:P" (Hub) or "127.0.0.2:P" (CDN)
  bool cdn = false;                       // true for the CDN server
  std::string method;                     // "GET", "HEAD", ...
  std::string path;                       // raw path, still percent-encoded
  std::string query;                      // raw query without '?', "" if none
  std::string range;                      // the Range header, "" if none
  std::string accept_encoding;            // the Accept-Encoding header, "" if none
  std::string user_agent;                 // the User-Agent header, "" if none
  bool authorization = false;             // an Authorization header arrived
  std::string authorization_fingerprint;  // token_fingerprint(header value), "" if none
  int status = 0;                         // status line sent
  int remote_port = 0;                    // client port: one value per TCP connection
  bool new_connection = false;            // first request seen on that connection
  std::string fault;                      // injected fault ("" if none), e.g. "status_503"
};

// A JSON object (one line, no newline) describing `record`, for log files.
std::string to_json_line(const RequestRecord& record);

// A short fingerprint of an Authorization header value, e.g. of "Bearer hf_valid_x".
std::string token_fingerprint(std::string_view authorization_value);

// The deterministic 40-hex commit the mock gives `ref` of repo `id` when none is configured.
std::string derived_commit(std::string_view id, std::string_view ref);

// Which server a request-level fault applies to.
enum class FaultTarget { any, hub, cdn };

// Faults a random fault storm picks from. A fault that cannot apply to a request (a body fault
// on a redirect, ignore_range without a Range header, redirect_loop off the resolve route) leaves
// that request alone, and its record's `fault` stays "".
enum class RandomFault {
  status_500,
  status_502,
  status_503,
  status_504,
  status_429,
  truncate_body,     // bodies: half the promised Content-Length, then close
  close_mid_stream,  // bodies: chunked, half the body, then close without the last chunk
  ignore_range,      // bodies: a Range request answered 200 with the full body
  reset,             // the connection is closed before any response byte (fault "reset")
  stall,             // `random_stall` of silence before the response (fault "stall")
  stall_mid_stream,  // bodies: half the body, `random_stall` of silence, then close
  redirect_loop,     // resolve: 307 into /mock/loop/a <-> /mock/loop/b
};

// Every RandomFault kind, for a storm of everything.
std::vector<RandomFault> all_random_faults();

// Behaviour switches and faults; read once per request, so changes apply to the next request.
// "Request-level" faults apply only to requests on `target` whose raw path contains
// `path_contains` and whose Range header contains `range_contains`; header faults apply to Hub
// responses, CDN faults to the CDN.
struct Faults {
  FaultTarget target = FaultTarget::any;
  std::string path_contains;   // "" = every path
  std::string range_contains;  // "" = with or without a Range header

  // Shape of normal answers.
  bool relative_307_for_small_files = true;  // off: resolve answers small files with 200
  bool xet_headers = true;                   // X-Xet-Hash and Link rel="xet-auth" on the LFS 302
  std::size_t tree_page_size = 1000;         // entries per /tree page (Link rel="next" after)
  bool short_sha_revisions = false;          // accept unique 7+ hex prefixes of known commits

  // Hub headers left out (on every resolve response).
  bool drop_repo_commit = false;  // X-Repo-Commit
  bool drop_linked_size = false;  // X-Linked-Size
  bool drop_etag = false;         // ETag and X-Linked-Etag

  // Request-level body faults (responses carrying file bytes: resolve-cache, 200 resolve, CDN).
  bool ignore_range = false;         // Range ignored: 200 with the full body
  bool gzip_on_range = false;        // Range answered 200, Content-Encoding: gzip, chunked
  bool truncate_body = false;        // half the promised Content-Length, then close
  bool close_mid_stream = false;     // chunked, half the body, then close without last chunk
  bool chunked_bodies = false;       // chunked encoding, no Content-Length (not a failure)
  bool wrong_content_range = false;  // 206 whose Content-Range is shifted by one byte

  // Request-level redirect faults on resolve.
  bool redirect_loop = false;  // 307 to /mock/loop/a, which 307s to b, which 307s to a, ...
  int redirect_hops = 0;       // this many extra relative 307 hops before the real answer

  // CDN behaviour.
  bool cdn_403_on_head = true;          // signed URLs reject HEAD
  bool cdn_expired_signatures = false;  // the Hub hands out already-expired CDN URLs
  std::chrono::seconds cdn_url_lifetime{3600};

  // Error shape.
  bool html_error_pages = false;  // error bodies are HTML instead of {"error": ...}
  bool drop_error_code = false;   // no X-Error-Code / X-Error-Message headers

  // Request-level status faults: the next `fail_next_n` requests get `fail_status`.
  int fail_next_n = 0;
  int fail_status = 503;               // 500/502/503/504/429 (any status works)
  int retry_after_seconds = 1;         // 429: Retry-After and RateLimit t=
  bool retry_after_http_date = false;  // 429: Retry-After as an HTTP-date
  bool ratelimit_header = true;        // 429: RateLimit and RateLimit-Policy headers

  // Timing.
  std::chrono::milliseconds stall{0};  // request-level: sleep before answering
  // Request-level: answer only once `hold` is switched off again (a gate a test opens; fault
  // "hold"). Until then the request waits, its connection open.
  bool hold = false;
  std::chrono::milliseconds latency{0};                 // every request: sleep before answering
  std::chrono::milliseconds new_connection_latency{0};  // once per new TCP connection

  // Request-level fault storm: each request gets a fault from `random_faults` with this rate.
  // The draw is a hash of (random_seed, method, raw path, hub query, Range, and how many times
  // that same request has been seen), not a shared stream: the same seed gives each request the
  // same fault however concurrent requests interleave. Requests to /mock/ routes (the redirect
  // machinery) are never faulted at random. Occurrence counts restart when random_seed changes.
  double random_fault_rate = 0.0;
  std::uint64_t random_seed = 1;
  std::chrono::milliseconds random_stall{3000};  // length of the stall faults
  std::vector<RandomFault> random_faults = {
      RandomFault::status_500,       RandomFault::status_502,  RandomFault::status_503,
      RandomFault::status_504,       RandomFault::status_429,  RandomFault::truncate_body,
      RandomFault::close_mid_stream, RandomFault::ignore_range};
};

// How the two servers are started.
struct MockHubOptions {
  std::string hub_host = "127.0.0.1";
  int hub_port = 0;                    // 0 = ephemeral
  std::string cdn_host = "127.0.0.2";  // another host, so clients must drop Authorization
  int cdn_port = 0;
  std::size_t worker_threads = 200;  // per server; a keep-alive connection holds one
  std::size_t keep_alive_max_requests = 10000;
  // A connection beyond this many open at once (per server) is accepted and closed at its first
  // request, as a server or proxy that limits clients does. 0: never.
  std::size_t refuse_connections_above = 0;
  // The CDN origin put in redirects, when a front (a TLS proxy) stands before the CDN server;
  // "" = the CDN server's own.
  std::string cdn_advertised_origin;
  int keep_alive_timeout_seconds = 5;
};

// Connections one server saw (since start or reset_connection_stats()).
struct ConnectionStats {
  std::size_t opened = 0;   // accepted
  std::size_t peak = 0;     // most open at once
  std::size_t refused = 0;  // closed for being over refuse_connections_above
};

// The mock Hub. Starts both servers in the constructor (throws std::runtime_error if a port
// cannot be bound); the destructor stops them, closes open connections and joins all threads.
// All member functions are thread-safe.
class MockHub {
 public:
  MockHub();
  explicit MockHub(MockHubOptions options);
  ~MockHub();
  MockHub(const MockHub&) = delete;
  MockHub& operator=(const MockHub&) = delete;

  // Adds (or replaces) a repo; files are read now. Throws std::runtime_error on unreadable files.
  void add_repo(RepoSpec spec);
  // Serves repo `id` again as `copy_id`: the same files, refs and access, without reading or
  // parsing anything again (cheap copies for storms of many sources). Throws if `id` is unknown.
  void add_copy(const std::string& id, const std::string& copy_id);

  // The Hub endpoint, "http://127.0.0.1:PORT" (no trailing slash): what HF_ENDPOINT points at.
  std::string endpoint() const;
  // The CDN origin, "http://127.0.0.2:PORT".
  std::string cdn_origin() const;

  // The commit `rev` of repo `id` resolves to (branch, tag, sha, refs/pr/N), or "" if none.
  std::string commit_of(std::string_view id, std::string_view rev) const;
  // The size the mock serves for `path` of repo `id` (logical size for safetensors), if any.
  std::optional<std::uint64_t> served_size(std::string_view id, std::string_view path) const;

  // A copy of the current faults.
  Faults faults() const;
  // Replaces the faults (restarts the storm's occurrence counts when random_seed changed).
  void set_faults(Faults faults);
  // Edits the faults in place under the lock, e.g. [](Faults& f) { f.fail_next_n = 2; }.
  void update_faults(const std::function<void(Faults&)>& edit);

  // Every request so far, in arrival order.
  std::vector<RequestRecord> requests() const;
  // Forgets the recorded requests (and the seen-connection set).
  void clear_requests();
  // The number of requests recorded so far.
  std::size_t request_count() const;
  // Connections of the Hub server (cdn false) or the CDN server (cdn true).
  ConnectionStats connection_stats(bool cdn) const;
  // Starts counting again: opened and refused to 0, the peak to the connections open now.
  void reset_connection_stats();

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace mbuild::test
