#include "source/hub/http.hpp"

#include <curl/curl.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mbuild::hub {

struct FetchBatch;

// A fetch in progress: the hop being made, and what earlier hops left behind.
struct FetchState {
  Fetch* fetch = nullptr;
  FetchBatch* batch = nullptr;
  std::string url;
  std::set<std::string> visited;
  std::chrono::steady_clock::time_point ready_at{};
  bool reresolved = false;
  unsigned retries_left = 0;
};

// One run_fetches call or FetchQueue: its fetches, and what the calling thread waits for. Shared
// between the caller and the pool's thread; every field after `stats` is guarded by the pool's
// mutex.
struct FetchBatch {
  const HttpSettings* settings = nullptr;
  std::string endpoint_origin;
  std::vector<std::unique_ptr<FetchState>> states;  // added under the pool's mutex
  TransferSummary stats;  // wire figures, written by the pool's thread, read once done
  std::condition_variable cv;
  std::deque<Fetch*> done;  // completed, not yet handed to on_done
  size_t remaining = 0;
  std::exception_ptr failure;  // the pool's thread gave up (out of memory)
};

namespace {

using Clock = std::chrono::steady_clock;

// libcurl's global state is set up once per process, before any thread uses it.
void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;
using SlistHandle = std::unique_ptr<curl_slist, SlistDeleter>;
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;
using CurlString = std::unique_ptr<char, CurlFree>;

// scheme://host:port of a URL ("" when it does not parse): the unit the token is scoped to.
std::string origin_of(const std::string& url) {
  UrlHandle u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return {};
  }
  char* scheme = nullptr;
  char* host = nullptr;
  char* port = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
  curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  CurlString s(scheme), h(host), p(port);
  if (!s || !h) {
    return {};
  }
  std::string out = std::string(s.get()) + "://" + h.get();
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out + ":" + (p ? p.get() : "");
}

// Resolves a Location against the URL it came from (RFC 3986; the Location's query is kept).
std::optional<std::string> resolve_location(const std::string& base, const std::string& location) {
  UrlHandle u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) {
    return std::nullopt;
  }
  CurlString owned(out);
  std::string resolved(out);
  if (!resolved.starts_with("http://") && !resolved.starts_with("https://")) {
    return std::nullopt;
  }
  return resolved;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr == s.data()) {
    return std::nullopt;
  }
  return v;
}

// Seconds to wait on a 429: RateLimit's t= when r=0 (plus one, as huggingface_hub does), else
// Retry-After in seconds (HTTP-dates are ignored), else 1.
std::chrono::seconds rate_limit_wait(const std::map<std::string, std::string>& headers) {
  if (auto it = headers.find("ratelimit"); it != headers.end()) {
    const std::string& v = it->second;
    auto t = v.find("t=");
    auto r = v.find("r=");
    if (t != std::string::npos) {
      auto secs = parse_u64(std::string_view(v).substr(t + 2));
      auto remaining = r != std::string::npos ? parse_u64(std::string_view(v).substr(r + 2))
                                              : std::optional<uint64_t>(0);
      if (secs && remaining && *remaining == 0) {
        return std::chrono::seconds(*secs + 1);
      }
    }
  }
  if (auto it = headers.find("retry-after"); it != headers.end()) {
    if (auto secs = parse_u64(it->second)) {
      return std::chrono::seconds(*secs);
    }
  }
  return std::chrono::seconds(1);
}

bool is_transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool is_retry_status(long status) {
  return status == 408 || status == 500 || status == 502 || status == 503 || status == 504;
}

// One server origin and its request window; the pool's thread alone touches it. Lives as long
// as the pool: a transfer's socket callback points at it.
struct Host {
  std::string origin;
  double window = 1;     // requests allowed in flight (AIMD)
  double threshold = 0;  // below it the window grows by one per success (slow start)
  unsigned in_flight = 0;
  bool multiplexed = false;  // answered over HTTP/2: one connection carries many streams
  Clock::time_point paused_until{};
  Clock::time_point last_cut{};
  std::deque<FetchState*> queue;  // ready to start, in arrival order
  int socket_errno = 0;  // errno of the last socket() that failed (EMFILE: out of descriptors)
};

// One HTTP request on the wire.
struct Transfer {
  FetchState* state = nullptr;
  Host* host = nullptr;
  EasyHandle easy;
  SlistHandle headers;
  std::map<std::string, std::string> response_headers;
  std::string body;
  uint64_t received = 0;          // body bytes the server sent, kept or not
  bool header_complete = false;   // the safetensors header is in: the rest only drains
  bool stopped_complete = false;  // aborted on purpose: everything wanted is in
  bool too_large = false;
  uint64_t max_body = 0;
  bool safetensors_head = false;
  bool discard_body = false;  // a redirect's body is not the file
  long status = 0;
  uint64_t range_start = 0;
  std::optional<uint64_t> range_end;
  std::string range;  // CURLOPT_RANGE's string: libcurl keeps the pointer
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response_headers.clear();  // a new response (after 100 Continue)
    auto space = line.find(' ');
    t->status = space == std::string_view::npos
                    ? 0
                    : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    // Only a 2xx body is the file: a 302's "Found. Redirecting..." is not a length prefix.
    t->discard_body = t->status >= 300 && t->status < 400;
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return n;
  }
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response_headers[name] = std::string(value);
  return n;
}

// The safetensors length prefix says the header ends at byte 8 + N; true once that many are in.
bool safetensors_header_in(std::string& body) {
  if (body.size() < 8) {
    return false;
  }
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) {
    len = (len << 8) | static_cast<unsigned char>(body[static_cast<size_t>(i)]);
  }
  // An absurd length is left for the header parser to reject with a clear message.
  const uint64_t need = len > (uint64_t{1} << 40) ? 8 : len + 8;
  if (body.size() < need) {
    return false;
  }
  body.resize(need);
  return true;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->received += n;
  if (t->discard_body || t->header_complete) {
    // A 206 sized to the header ends by itself: draining it keeps the connection for the next
    // request, where stopping would close it.
    return n;
  }
  // A 200 to a Range request (Range ignored) is the whole file from byte 0: read up to the
  // range's end and stop (the connection is lost, the rest of a large file is not read);
  // complete() keeps the range.
  if (t->status == 200 && t->range_end) {
    const uint64_t want = *t->range_end + 1;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, want - t->body.size()));
    if (t->body.size() + take > t->max_body + t->range_start) {
      t->too_large = true;
      return 0;
    }
    t->body.append(data, take);
    if (t->range_start == 0 && t->safetensors_head && safetensors_header_in(t->body)) {
      t->stopped_complete = true;
      return 0;
    }
    if (t->body.size() >= want) {
      t->stopped_complete = true;
      return 0;
    }
    return n;
  }
  if (t->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, n);
  if (t->safetensors_head && t->status >= 200 && t->status < 300 &&
      safetensors_header_in(t->body)) {
    t->header_complete = true;
  }
  return n;
}

// Keeps the errno of a socket() that failed: libcurl reports EMFILE as "could not connect" and
// keeps the cause to itself.
// The receive buffer of an HTTP/2-capable (https) transfer: a ranged read's whole answer,
// between 64 KiB and libcurl's 10 MiB ceiling; 64 KiB when the size is not known ahead. With
// libcurl's default 16 KiB, libcurl 7.88 (Debian 12) sometimes left the last frames of an
// HTTP/2 stream undelivered while many streams shared the connection: the stream then waited
// for the low-speed limit and a retry. Measured over 30 runs of 33 concurrent ~430 KB header
// reads through nghttpx: 7 stalls of ~18 s with 16 KiB, none in 40 runs sized to the answer
// (bench/PROFILES.md). Plain http keeps libcurl's default, which keeps memory low when many
// sources are read at once.
long receive_buffer_size(const Fetch& f) {
  constexpr uint64_t k_min = 64 << 10, k_max = CURL_MAX_READ_SIZE;
  const uint64_t expected =
      f.range_end ? *f.range_end - std::min(*f.range_end, f.range_start) + 1 : k_min;
  return static_cast<long>(std::clamp(expected, k_min, k_max));
}

curl_socket_t open_socket(void* clientp, curlsocktype /*purpose*/, curl_sockaddr* address) {
  const curl_socket_t s = ::socket(address->family, address->socktype, address->protocol);
  if (s == CURL_SOCKET_BAD) {
    static_cast<Host*>(clientp)->socket_errno = errno;
  }
  return s;
}

// Refusals, resets and timeouts: what a server or a network under load answers.
bool is_congestion(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
         rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT;
}

bool is_tls_trust_failure(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_ISSUER_ERROR;
}

// The requests a host is sent at most at once over one HTTP/2 connection: the streams a server
// commonly allows (nghttpx, the Hub's CDN: 100-128).
constexpr double k_streams_per_connection = 100;
// Requests a new host is sent at once; the window then doubles per round trip up to the cap.
// Six, as browsers open per host: a burst of more SYNs overflows a small listen backlog (5 for
// Python's http.server, whose accept queue holds 6), and each dropped SYN costs a 1 s
// retransmit.
constexpr double k_initial_window = 6;
// Descriptors a run needs besides its sockets: standard streams, the Hub module, cache and
// local files being read, libcurl's wakeup pair and resolver.
constexpr unsigned k_reserved_fds = 48;
// A window is halved at most once in this long: one burst of refusals is one signal.
constexpr auto k_cut_interval = std::chrono::milliseconds(250);

// The process's pool for one (max_in_flight, max_connections) pair: one libcurl multi handle
// driven by one thread, so connections are reused across calls, rounds and sources.
class Pool {
 public:
  Pool(unsigned max_in_flight, unsigned max_connections, unsigned fd_limit)
      : m_max_in_flight(std::max(1U, max_in_flight)),
        m_max_connections(std::max(1U, max_connections)) {
    init_curl();
    m_multi.reset(curl_multi_init());
    if (!m_multi) {
      throw std::bad_alloc();
    }
    curl_multi_setopt(m_multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(m_max_connections));
    // Idle connections stay cached for the next round or source instead of being closed.
    unsigned cached = std::max(m_max_in_flight, m_max_connections * 4);
    if (fd_limit > 0) {
      // Descriptors are budgeted: sockets stay below the limit, with room for the files a run
      // opens (the module, cache files, local headers) and libcurl's own.
      const unsigned sockets = fd_limit > k_reserved_fds + 2 ? fd_limit - k_reserved_fds : 2;
      curl_multi_setopt(m_multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(sockets));
      cached = std::min(cached, sockets);
    }
    curl_multi_setopt(m_multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(cached));
    // Over HTTP/2 requests to a host multiplex on one connection; over HTTP/1.1 each in-flight
    // request has its own, at most max_connections per host, the rest wait in our queues.
    curl_multi_setopt(m_multi.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    m_thread = std::thread([this] { serve(); });
  }

  ~Pool() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    curl_multi_wakeup(m_multi.get());
    m_thread.join();
    m_multi.reset();  // closes cached connections before the hosts go
  }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Adds fetches to a batch; each starts as soon as its host's window allows.
  void submit(FetchBatch& batch, std::vector<std::unique_ptr<FetchState>> states) {
    std::unique_lock lock(m_mutex);
    if (m_failure) {
      std::rethrow_exception(m_failure);
    }
    batch.remaining += states.size();
    m_batches.insert(&batch);
    for (auto& s : states) {
      m_incoming.push_back(s.get());
      batch.states.push_back(std::move(s));
    }
    lock.unlock();
    curl_multi_wakeup(m_multi.get());
  }

  // The next fetch of `batch` to complete, in completion order; null once none is pending.
  Fetch* next_done(FetchBatch& batch) {
    std::unique_lock lock(m_mutex);
    batch.cv.wait(lock,
                  [&] { return !batch.done.empty() || batch.remaining == 0 || batch.failure; });
    if (batch.failure) {
      std::rethrow_exception(batch.failure);
    }
    if (batch.done.empty()) {
      return nullptr;
    }
    Fetch* f = batch.done.front();
    batch.done.pop_front();
    return f;
  }

 private:
  // The pool's thread: admits batches, starts what each host's window allows, completes what
  // libcurl finishes, and sleeps in curl_multi_poll until something happens.
  void serve() {
    try {
      while (true) {
        {
          std::lock_guard lock(m_mutex);
          if (m_stop) {
            break;
          }
          for (FetchState* state : m_incoming) {
            host_of(state->url).queue.push_back(state);
          }
          m_incoming.clear();
        }
        start_ready();
        int running = 0;
        curl_multi_perform(m_multi.get(), &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m_multi.get(), &left)) {
          if (msg->msg == CURLMSG_DONE) {
            complete(msg->easy_handle, msg->data.result);
          }
        }
        if (!can_start_now()) {
          curl_multi_poll(m_multi.get(), nullptr, 0, poll_timeout_ms(), nullptr);
        }
      }
    } catch (...) {
      // Out of memory inside the pool: every waiting caller gives up the same way.
      std::lock_guard lock(m_mutex);
      m_failure = std::current_exception();
    }
    for (auto& [h, t] : m_active) {
      curl_multi_remove_handle(m_multi.get(), h);
    }
    m_active.clear();
    std::lock_guard lock(m_mutex);
    if (!m_failure) {
      m_failure = std::make_exception_ptr(std::runtime_error("the HTTP pool stopped"));
    }
    for (FetchBatch* b : m_batches) {
      b->failure = m_failure;
      b->cv.notify_all();
    }
  }

  Host& host_of(const std::string& url) {
    std::string origin = origin_of(url);
    auto it = m_hosts.find(origin);
    if (it == m_hosts.end()) {
      auto h = std::make_unique<Host>();
      h->origin = origin;
      // Connections are opened a few at a time (k_initial_window).
      h->window = std::min(static_cast<double>(m_max_connections), k_initial_window);
      h->threshold = m_max_connections;
      it = m_hosts.emplace(origin, std::move(h)).first;
    }
    return *it->second;
  }

  double host_cap(const Host& h) const {
    return h.multiplexed ? k_streams_per_connection : static_cast<double>(m_max_connections);
  }

  // True when a queued request (a redirect's next hop, say) could start without waiting.
  bool can_start_now() const {
    if (m_active.size() >= m_max_in_flight) {
      return false;
    }
    const auto now = Clock::now();
    for (const auto& [origin, h] : m_hosts) {
      if (!h->queue.empty() && h->paused_until <= now &&
          h->in_flight < static_cast<unsigned>(h->window)) {
        return true;
      }
    }
    return false;
  }

  int poll_timeout_ms() const {
    auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    for (const auto& d : m_delayed) {
      next = std::min(next, d->ready_at);
    }
    for (const auto& [origin, h] : m_hosts) {
      if (!h->queue.empty() && h->paused_until > now) {
        next = std::min(next, h->paused_until);
      }
    }
    long curl_ms = -1;
    curl_multi_timeout(m_multi.get(), &curl_ms);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    if (curl_ms >= 0) {
      ms = std::min<long>(ms, curl_ms);
    }
    return static_cast<int>(std::clamp<long>(ms, 0, 1000));
  }

  void start_ready() {
    const auto now = Clock::now();
    for (auto it = m_delayed.begin(); it != m_delayed.end();) {
      if ((*it)->ready_at <= now) {
        host_of((*it)->url).queue.push_back(*it);
        it = m_delayed.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [origin, host] : m_hosts) {
      Host& h = *host;
      while (!h.queue.empty() && m_active.size() < m_max_in_flight && h.paused_until <= now &&
             h.in_flight < static_cast<unsigned>(h.window)) {
        FetchState* s = h.queue.front();
        h.queue.pop_front();
        start(s, h);
      }
    }
  }

  void start(FetchState* state, Host& host) {
    Fetch& f = *state->fetch;
    const HttpSettings& settings = *state->batch->settings;
    ++f.attempts;
    ++state->batch->stats.requests;
    auto t = std::make_unique<Transfer>();
    t->state = state;
    t->host = &host;
    t->easy.reset(curl_easy_init());
    if (!t->easy) {
      throw std::bad_alloc();
    }
    t->max_body = f.max_body;
    t->safetensors_head = f.safetensors_head;
    t->range_start = f.range_start;
    t->range_end = f.range_end;
    CURL* h = t->easy.get();
    curl_easy_setopt(h, CURLOPT_URL, state->url.c_str());
    curl_easy_setopt(h, CURLOPT_USERAGENT, settings.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(settings.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(settings.low_speed_time.count()));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &host);
    if (state->url.starts_with("https://")) {
      // HTTP/2 is offered over TLS (ALPN): a burst waits for the first connection's handshake
      // to learn whether it multiplexes instead of opening a connection per request. Not on
      // http://, where no upgrade is asked and waiting would serialise requests.
      curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
      curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
      curl_easy_setopt(h, CURLOPT_BUFFERSIZE, receive_buffer_size(f));
      if (!settings.ca_file.empty()) {
        curl_easy_setopt(h, CURLOPT_CAINFO, settings.ca_file.c_str());
      }
      if (!settings.ca_path.empty()) {
        curl_easy_setopt(h, CURLOPT_CAPATH, settings.ca_path.c_str());
      }
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(h, CURLOPT_PRIVATE, t.get());
    if (f.head_only) {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    if (f.range_end) {
      // No Accept-Encoding on ranged GETs: a CDN may ignore Range for a gzip request.
      t->range = fmt::format("{}-{}", f.range_start, *f.range_end);
      curl_easy_setopt(h, CURLOPT_RANGE, t->range.c_str());
    } else if (!f.head_only) {
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    }
    curl_slist* list = nullptr;
    // The token goes to the endpoint's origin only: never to a CDN on another host or port. One
    // with a line break is never sent (open_source refuses it first): it would add headers.
    if (!settings.token.empty() && host.origin == state->batch->endpoint_origin &&
        settings.token.find_first_of("\r\n") == std::string::npos) {
      const std::string auth = "Authorization: Bearer " + settings.token;
      list = curl_slist_append(list, auth.c_str());
    }
    t->headers.reset(list);
    if (list) {
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    }
    ++host.in_flight;
    curl_multi_add_handle(m_multi.get(), h);
    m_active.emplace(h, std::move(t));
  }

  // Again after `delay`, or at once: a redirect's next hop goes first in its host's queue, so a
  // fetch under way (the index) finishes before the queue's newcomers (hundreds of shards).
  void requeue(FetchState* state, std::chrono::milliseconds delay = {}) {
    if (delay.count() > 0) {
      state->ready_at = Clock::now() + delay;
      m_delayed.push_back(state);
    } else {
      host_of(state->url).queue.push_front(state);
    }
  }

  // Exponential backoff with ±50 % jitter: requests that failed together retry apart.
  std::chrono::milliseconds backoff(const FetchState& state) {
    const HttpSettings& s = *state.batch->settings;
    const unsigned used = s.max_attempts - 1 - state.retries_left;
    const auto base = s.backoff_base * (1 << std::min(used, 6U));
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    return std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(base.count()) * jitter(m_random)));
  }

  void congestion(Host& h, FetchBatch& b) {
    ++b.stats.congestion;
    const auto now = Clock::now();
    if (now - h.last_cut >= k_cut_interval) {
      h.window = std::max(1.0, h.window / 2);
      h.threshold = h.window;
      h.last_cut = now;
    }
  }

  // Slow start below the threshold (one more per success: doubling per round trip), then one
  // more per window of successes.
  void success(Host& h) {
    const double w = h.window;
    h.window = std::min(host_cap(h), w < h.threshold ? w + 1 : w + 1.0 / w);
  }

  void finish(FetchState* state) {
    FetchBatch& b = *state->batch;
    std::lock_guard lock(m_mutex);
    --b.remaining;
    b.done.push_back(state->fetch);
    finish_batch_if_done(b);
    b.cv.notify_all();
  }

  // Called with m_mutex held.
  void finish_batch_if_done(FetchBatch& b) {
    if (b.remaining == 0) {
      m_batches.erase(&b);
      b.cv.notify_all();
    }
  }

  void fail_fetch(FetchState* state, Error error) {
    state->fetch->error = std::move(error);
    finish(state);
  }

  void complete(CURL* h, CURLcode rc) {
    auto node = m_active.extract(h);
    curl_multi_remove_handle(m_multi.get(), h);
    std::unique_ptr<Transfer> t = std::move(node.mapped());
    FetchState* state = t->state;
    FetchBatch& batch = *state->batch;
    const HttpSettings& settings = *batch.settings;
    Host& host = *t->host;
    --host.in_flight;
    Fetch& f = *state->fetch;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    long connects = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    long version = 0;
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    batch.stats.connections += static_cast<uint64_t>(std::max(0L, connects));
    batch.stats.bytes += t->received;
    if (version == CURL_HTTP_VERSION_2_0) {
      ++batch.stats.http2;
      if (!host.multiplexed) {
        // The server multiplexes: open the window to one connection's streams at once.
        host.multiplexed = true;
        host.window = std::max(host.window, k_streams_per_connection);
      }
    }
    const std::string where = redact_url(state->url);
    const bool hub_hop = host.origin == batch.endpoint_origin;
    const auto& headers = t->response_headers;
    auto header = [&](const char* name) -> std::string {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };

    if (t->too_large) {
      return fail_fetch(state, Error(ErrorKind::bad_input, where,
                                     fmt::format("response is larger than {} bytes", f.max_body)));
    }
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t->stopped_complete)) {
      if (is_tls_trust_failure(rc)) {
        return fail_fetch(
            state, Error(ErrorKind::network, origin_of(state->url),
                         fmt::format("TLS certificate not trusted ({})", curl_easy_strerror(rc)),
                         "a private CA? point CURL_CA_BUNDLE, SSL_CERT_FILE, REQUESTS_CA_BUNDLE "
                         "or SSL_CERT_DIR at it"));
      }
      long os_errno = 0;
      curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
      const bool out_of_fds = rc == CURLE_COULDNT_CONNECT &&
                              (os_errno == EMFILE || os_errno == ENFILE ||
                               host.socket_errno == EMFILE || host.socket_errno == ENFILE);
      if (out_of_fds) {
        host.socket_errno = 0;
        return fail_fetch(
            state,
            Error(ErrorKind::resource, where,
                  settings.fd_limit > 0
                      ? fmt::format("out of file descriptors (the limit is {})", settings.fd_limit)
                      : std::string("out of file descriptors"),
                  "raise it with 'ulimit -n' or lower --jobs"));
      }
      if (is_congestion(rc)) {
        congestion(host, batch);
      }
      if (is_transient(rc) && state->retries_left > 0) {
        --state->retries_left;
        ++batch.stats.retries;
        return requeue(state, backoff(*state));
      }
      return fail_fetch(state, Error(ErrorKind::network, where,
                                     fmt::format("{} (after {} attempt(s))", curl_easy_strerror(rc),
                                                 f.attempts)));
    }
    if (hub_hop) {
      if (auto c = header("x-repo-commit"); !c.empty()) {
        f.repo_commit = c;
      }
      if (auto s = parse_u64(header("x-linked-size"))) {
        f.total_size = *s;
      }
      if (auto e = header("x-linked-etag"); !e.empty()) {
        f.linked_etag = e;
      }
    }
    if (status >= 300 && status < 400 && status != 304) {
      success(host);
      const std::string location = header("location");
      if (location.empty()) {
        return fail_fetch(state, Error(ErrorKind::network, where,
                                       fmt::format("HTTP {} without a Location", status)));
      }
      auto next = resolve_location(state->url, location);
      if (!next) {
        return fail_fetch(state,
                          Error(ErrorKind::network, where, "redirect to an unusable Location"));
      }
      if (f.stop_at_other_origin && origin_of(*next) != host.origin) {
        // The caller reads the other origin (a CDN) itself, with what it learnt meanwhile.
        f.status = status;
        f.final_url = *next;
        return finish(state);
      }
      state->visited.insert(state->url);
      if (state->visited.count(*next)) {
        return fail_fetch(state, Error(ErrorKind::network, where, "redirect loop"));
      }
      if (++f.redirects > settings.max_redirects) {
        return fail_fetch(state,
                          Error(ErrorKind::network, where,
                                fmt::format("more than {} redirects", settings.max_redirects)));
      }
      state->url = *next;
      return requeue(state);
    }
    if (status == 429) {
      congestion(host, batch);
      if (state->retries_left > 0) {
        --state->retries_left;
        ++batch.stats.retries;
        // The whole host waits: its other requests would only be refused too.
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min(rate_limit_wait(headers), settings.max_rate_limit_wait));
        host.paused_until = std::max(host.paused_until, Clock::now() + wait);
        return requeue(state, wait);
      }
      return fail_fetch(
          state, Error(ErrorKind::network, where,
                       fmt::format("rate limited (HTTP 429) after {} attempts", f.attempts)));
    }
    if (is_retry_status(status)) {
      if (status == 503) {
        congestion(host, batch);
      }
      if (state->retries_left > 0) {
        --state->retries_left;
        ++batch.stats.retries;
        auto wait = backoff(*state);
        if (headers.count("retry-after")) {
          wait = std::max(wait, std::chrono::duration_cast<std::chrono::milliseconds>(std::min(
                                    rate_limit_wait(headers), settings.max_rate_limit_wait)));
        }
        return requeue(state, wait);
      }
      return fail_fetch(state, Error(ErrorKind::network, where,
                                     fmt::format("HTTP {} after {} attempts", status, f.attempts)));
    }
    success(host);
    // A signed CDN URL may have expired: resolve it again once from the Hub.
    if (status == 403 && !hub_hop && !state->reresolved) {
      state->reresolved = true;
      state->url = f.resolve_url.empty() ? f.url : f.resolve_url;
      state->visited.clear();
      return requeue(state);
    }

    f.status = status;
    f.final_url = state->url;
    f.content_encoding = header("content-encoding");
    f.error_code = header("x-error-code");
    f.error_message = header("x-error-message");
    if (status >= 400 && f.error_message.empty() && !t->body.empty()) {
      auto j = nlohmann::json::parse(t->body, nullptr, false);
      if (j.is_object() && j.contains("error") && j["error"].is_string()) {
        f.error_message = j["error"].get<std::string>();
      }
    }
    if (status == 206) {
      // Content-Range: bytes a-b/total — the total is the file size offsets are checked against.
      const std::string cr = header("content-range");
      auto slash = cr.rfind('/');
      auto space = cr.find(' ');
      auto start = space != std::string::npos ? parse_u64(std::string_view(cr).substr(space + 1))
                                              : std::nullopt;
      if (slash != std::string::npos) {
        if (auto total = parse_u64(std::string_view(cr).substr(slash + 1))) {
          f.total_size = *total;
        }
      }
      if (!start || *start != f.range_start) {
        return fail_fetch(state, Error(ErrorKind::network, where,
                                       fmt::format("unexpected Content-Range '{}'", cr)));
      }
    } else if (status == 200) {
      f.range_ignored = f.range_end.has_value();
      if (f.range_ignored && f.range_start > 0) {
        t->body.erase(0, std::min<size_t>(t->body.size(), f.range_start));
      }
      if (!f.total_size && f.content_encoding.empty()) {
        if (auto len = parse_u64(header("content-length"))) {
          f.total_size = *len;
        }
      }
    }
    f.body = std::move(t->body);
    finish(state);
  }

  const unsigned m_max_in_flight;
  const unsigned m_max_connections;
  // Shared with callers, under m_mutex.
  std::mutex m_mutex;
  std::vector<FetchState*> m_incoming;
  std::set<FetchBatch*> m_batches;
  bool m_stop = false;
  std::exception_ptr m_failure;
  // The pool thread's own.
  std::map<std::string, std::unique_ptr<Host>> m_hosts;
  MultiHandle m_multi;
  std::vector<FetchState*> m_delayed;  // waiting out a backoff or a rate limit
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> m_active;
  std::minstd_rand m_random{std::random_device{}()};
  std::thread m_thread;
};

// The pools of this process, one per (max_in_flight, max_connections): callers with the same
// settings (every source of one command) share connections. Null when none is made and
// `create` is false.
Pool* pool_for(const HttpSettings& s, bool create) {
  static std::mutex mutex;
  static std::map<std::tuple<unsigned, unsigned, unsigned>, std::unique_ptr<Pool>> pools;
  std::lock_guard lock(mutex);
  auto key = std::make_tuple(s.max_in_flight, s.max_connections, s.fd_limit);
  auto it = pools.find(key);
  if (it == pools.end()) {
    if (!create) {
      return nullptr;
    }
    it = pools.emplace(key, std::make_unique<Pool>(s.max_in_flight, s.max_connections, s.fd_limit))
             .first;
  }
  return it->second.get();
}

}  // namespace

void add_wire(TransferSummary& to, const TransferSummary& from) {
  to.requests += from.requests;
  to.connections += from.connections;
  to.http2 += from.http2;
  to.retries += from.retries;
  to.congestion += from.congestion;
  to.bytes += from.bytes;
}

namespace {

std::unique_ptr<FetchState> state_for(Fetch* f, FetchBatch& batch) {
  auto state = std::make_unique<FetchState>();
  state->fetch = f;
  state->batch = &batch;
  state->url = f->url;
  state->retries_left = batch.settings->max_attempts > 0 ? batch.settings->max_attempts - 1 : 0;
  return state;
}

}  // namespace

void run_fetches(std::vector<Fetch*> fetches, const HttpSettings& settings,
                 const std::function<void(const Fetch&)>& on_done, TransferSummary* stats) {
  FetchQueue queue(settings);
  for (Fetch* f : fetches) {
    queue.add(f);
  }
  while (Fetch* f = queue.next_done()) {
    if (on_done) {
      on_done(*f);
    }
  }
  if (stats) {
    add_wire(*stats, queue.stats());
  }
}

FetchQueue::FetchQueue(const HttpSettings& settings) : m_batch(std::make_unique<FetchBatch>()) {
  m_batch->settings = &settings;
  m_batch->endpoint_origin = origin_of(settings.endpoint);
}

FetchQueue::~FetchQueue() {
  // The pool holds this batch's fetches until they complete.
  try {
    while (next_done() != nullptr) {
    }
  } catch (...) {  // the pool stopped: nothing of ours is left in it
  }
}

void FetchQueue::add(Fetch* fetch) {
  std::vector<std::unique_ptr<FetchState>> one;
  one.push_back(state_for(fetch, *m_batch));
  pool_for(*m_batch->settings, true)->submit(*m_batch, std::move(one));
}

Fetch* FetchQueue::next_done() {
  return pool_for(*m_batch->settings, true)->next_done(*m_batch);
}

const TransferSummary& FetchQueue::stats() const {
  return m_batch->stats;
}

std::string redact_url(const std::string& url) {
  std::string out = url;
  // user:password@ in the authority (a mirror behind basic auth) is as secret as the token.
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const size_t host = scheme + 3;
    const size_t end = std::min(out.find_first_of("/?#", host), out.size());
    if (auto at = out.rfind('@', end - 1); at != std::string::npos && at >= host && at < end) {
      out.erase(host, at + 1 - host);
    }
  }
  auto q = out.find('?');
  return q == std::string::npos ? out : out.substr(0, q) + "?…";
}

std::string url_encode(std::string_view s, bool keep_slash) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
        (keep_slash && ch == '/')) {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace mbuild::hub
