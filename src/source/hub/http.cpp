#include "source/hub/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mbuild::hub {
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

// A fetch in progress: the hop being made, and what earlier hops left behind.
struct FetchState {
  Fetch* fetch = nullptr;
  std::string url;
  std::set<std::string> visited;
  Clock::time_point ready_at{};
  bool reresolved = false;
  unsigned retries_left = 0;
};

// One HTTP request on the wire.
struct Transfer {
  FetchState* state = nullptr;
  EasyHandle easy;
  SlistHandle headers;
  std::map<std::string, std::string> response_headers;
  std::string body;
  bool stopped_complete = false;  // aborted on purpose: the header is in
  bool too_large = false;
  uint64_t max_body = 0;
  bool safetensors_head = false;
  bool discard_body = false;  // a redirect's or an error's body is not the file
  long status = 0;
  uint64_t range_start = 0;
  std::optional<uint64_t> range_end;
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

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->discard_body) {
    return n;
  }
  // A 200 to a Range request past byte 0 (Range ignored) is the file from byte 0: read up to the
  // range's end and stop; complete() keeps the range.
  if (t->status == 200 && t->range_end && t->range_start > 0) {
    const uint64_t want = *t->range_end + 1;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, want - t->body.size()));
    if (t->body.size() + take > t->max_body + t->range_start) {
      t->too_large = true;
      return 0;
    }
    t->body.append(data, take);
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
  if (t->safetensors_head && t->status >= 200 && t->status < 300 && t->body.size() >= 8) {
    uint64_t len = 0;
    for (int i = 7; i >= 0; --i) {
      len = (len << 8) | static_cast<unsigned char>(t->body[static_cast<size_t>(i)]);
    }
    // Stop as soon as the length prefix and the JSON are in; an absurd length is left for
    // the header parser to reject with a clear message.
    const uint64_t need = len > (uint64_t{1} << 40) ? 8 : len + 8;
    if (t->body.size() >= need) {
      t->body.resize(need);
      t->stopped_complete = true;
      return 0;
    }
  }
  return n;
}

class Engine {
 public:
  Engine(const HttpSettings& settings, const std::function<void(const Fetch&)>& on_done)
      : m_settings(settings), m_on_done(on_done), m_endpoint_origin(origin_of(settings.endpoint)) {
    init_curl();
    m_multi.reset(curl_multi_init());
    curl_multi_setopt(m_multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(settings.max_in_flight));
    // Over HTTP/2 (the Hub and its CDN offer it over TLS), requests to a host multiplex on the
    // connections already up; over HTTP/1.1 each in-flight request has its own.
    curl_multi_setopt(m_multi.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  }

  void run(std::vector<Fetch*>& fetches) {
    m_states.reserve(fetches.size());
    for (Fetch* f : fetches) {
      auto state = std::make_unique<FetchState>();
      state->fetch = f;
      state->url = f->url;
      state->retries_left = m_settings.max_attempts > 0 ? m_settings.max_attempts - 1 : 0;
      m_pending.push_back(state.get());
      m_states.push_back(std::move(state));
    }
    while (!m_pending.empty() || !m_active.empty()) {
      start_ready();
      int running = 0;
      curl_multi_perform(m_multi.get(), &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(m_multi.get(), &left)) {
        if (msg->msg == CURLMSG_DONE) {
          complete(msg->easy_handle, msg->data.result);
        }
      }
      if (m_active.empty() && !m_pending.empty()) {
        auto next = std::min_element(m_pending.begin(), m_pending.end(),
                                     [](auto* a, auto* b) { return a->ready_at < b->ready_at; });
        auto wait = (*next)->ready_at - Clock::now();
        if (wait > Clock::duration::zero()) {
          std::this_thread::sleep_for(std::min<Clock::duration>(wait, std::chrono::seconds(1)));
        }
        continue;
      }
      if (!m_active.empty()) {
        curl_multi_poll(m_multi.get(), nullptr, 0, 50, nullptr);
      }
    }
  }

 private:
  void start_ready() {
    const auto now = Clock::now();
    for (auto it = m_pending.begin();
         it != m_pending.end() && m_active.size() < m_settings.max_in_flight;) {
      if ((*it)->ready_at <= now) {
        start(*it);
        it = m_pending.erase(it);
      } else {
        ++it;
      }
    }
  }

  void start(FetchState* state) {
    Fetch& f = *state->fetch;
    ++f.attempts;
    auto t = std::make_unique<Transfer>();
    t->state = state;
    t->easy.reset(curl_easy_init());
    t->max_body = f.max_body;
    t->safetensors_head = f.safetensors_head;
    t->range_start = f.range_start;
    t->range_end = f.range_end;
    CURL* h = t->easy.get();
    curl_easy_setopt(h, CURLOPT_URL, state->url.c_str());
    curl_easy_setopt(h, CURLOPT_USERAGENT, m_settings.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(m_settings.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(m_settings.low_speed_time.count()));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    // No CURLOPT_PIPEWAIT: against an HTTP/1.1 server (the mock) it made each request wait for
    // a connection to come free, 191 headers one after another (572 ms -> 8.5-10.6 s).
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(h, CURLOPT_PRIVATE, t.get());
    if (f.head_only) {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    std::string range;
    if (f.range_end) {
      // No Accept-Encoding on ranged GETs: a CDN may ignore Range for a gzip request.
      range = fmt::format("{}-{}", f.range_start, *f.range_end);
      curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
    } else if (!f.head_only) {
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    }
    curl_slist* list = nullptr;
    // The token goes to the endpoint's origin only: never to a CDN on another host or port. One
    // with a line break is never sent (open_source refuses it first): it would add headers.
    if (!m_settings.token.empty() && origin_of(state->url) == m_endpoint_origin &&
        m_settings.token.find_first_of("\r\n") == std::string::npos) {
      const std::string auth = "Authorization: Bearer " + m_settings.token;
      list = curl_slist_append(list, auth.c_str());
    }
    t->headers.reset(list);
    if (list) {
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    }
    curl_multi_add_handle(m_multi.get(), h);
    m_active.emplace(h, std::move(t));
  }

  void retry_later(FetchState* state, std::chrono::milliseconds delay) {
    state->ready_at = Clock::now() + delay;
    m_pending.push_back(state);
  }

  std::chrono::milliseconds backoff(const FetchState& state) const {
    const unsigned used = m_settings.max_attempts - 1 - state.retries_left;
    return m_settings.backoff_base * (1 << std::min(used, 6U));
  }

  void finish(FetchState* state) {
    if (m_on_done) {
      m_on_done(*state->fetch);
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
    Fetch& f = *state->fetch;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    const std::string where = redact_url(state->url);
    const bool hub_hop = origin_of(state->url) == m_endpoint_origin;
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
      if (is_transient(rc) && state->retries_left > 0) {
        --state->retries_left;
        return retry_later(state, backoff(*state));
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
      state->visited.insert(state->url);
      if (state->visited.count(*next)) {
        return fail_fetch(state, Error(ErrorKind::network, where, "redirect loop"));
      }
      if (++f.redirects > m_settings.max_redirects) {
        return fail_fetch(state,
                          Error(ErrorKind::network, where,
                                fmt::format("more than {} redirects", m_settings.max_redirects)));
      }
      state->url = *next;
      state->ready_at = {};
      m_pending.push_back(state);
      return;
    }
    if (status == 429) {
      if (state->retries_left > 0) {
        --state->retries_left;
        auto wait = std::min(rate_limit_wait(headers), m_settings.max_rate_limit_wait);
        return retry_later(state, std::chrono::duration_cast<std::chrono::milliseconds>(wait));
      }
      return fail_fetch(
          state, Error(ErrorKind::network, where,
                       fmt::format("rate limited (HTTP 429) after {} attempts", f.attempts)));
    }
    if (is_retry_status(status)) {
      if (state->retries_left > 0) {
        --state->retries_left;
        return retry_later(state, backoff(*state));
      }
      return fail_fetch(state, Error(ErrorKind::network, where,
                                     fmt::format("HTTP {} after {} attempts", status, f.attempts)));
    }
    // A signed CDN URL may have expired: resolve it again once from the Hub.
    if (status == 403 && !hub_hop && !state->reresolved) {
      state->reresolved = true;
      state->url = f.resolve_url.empty() ? f.url : f.resolve_url;
      state->visited.clear();
      state->ready_at = {};
      m_pending.push_back(state);
      return;
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

  const HttpSettings& m_settings;
  const std::function<void(const Fetch&)>& m_on_done;
  std::string m_endpoint_origin;
  MultiHandle m_multi;
  std::vector<std::unique_ptr<FetchState>> m_states;
  std::deque<FetchState*> m_pending;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> m_active;
};

}  // namespace

void run_fetches(std::vector<Fetch*> fetches, const HttpSettings& settings,
                 const std::function<void(const Fetch&)>& on_done) {
  Engine engine(settings, on_done);
  engine.run(fetches);
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
