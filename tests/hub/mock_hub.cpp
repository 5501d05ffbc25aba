#include "mock_hub.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuseless-cast"
#endif
#include <httplib.h>
#pragma GCC diagnostic pop

namespace mbuild::test {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Files at or above this size are LFS even without an LFS extension (HUB_PROTOCOL.md §1).
constexpr std::uint64_t k_small_file_limit = 10ull * 1024 * 1024;
constexpr std::size_t k_chunk = 64 * 1024;
constexpr std::string_view k_signing_secret = "mbuild-mock-hub-signing-secret";

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += k_digits[data[i] >> 4];
    out += k_digits[data[i] & 0x0f];
  }
  return out;
}

std::string digest_hex(const EVP_MD* md, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    throw std::runtime_error("mock hub: digest init failed");
  }
  for (std::string_view part : parts) {
    EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &size);
  return hex(out, size);
}

std::string sha1_hex(std::initializer_list<std::string_view> parts) {
  return digest_hex(EVP_sha1(), parts);
}

std::string sha256_hex(std::initializer_list<std::string_view> parts) {
  return digest_hex(EVP_sha256(), parts);
}

int hex_value(char c);

std::string from_hex(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    out += static_cast<char>(std::max(hex_value(s[i]), 0) * 16 + std::max(hex_value(s[i + 1]), 0));
  }
  return out;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_commit(std::string_view s) {
  return s.size() == 40 && is_hex(s);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Percent-decoding of a path segment ('+' stays '+'); malformed escapes are kept verbatim.
std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Percent-encoding like Python's quote(): unreserved characters kept, '/' kept if asked.
std::string url_encode(std::string_view s, bool keep_slash) {
  static constexpr char k_digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool keep = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (keep) {
      out += c;
    } else {
      out += '%';
      out += k_digits[u >> 4];
      out += k_digits[u & 0x0f];
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string join(const std::vector<std::string>& parts, std::size_t begin, std::size_t end,
                 bool decode) {
  std::string out;
  for (std::size_t i = begin; i < end && i < parts.size(); ++i) {
    if (i != begin) {
      out += '/';
    }
    out += decode ? url_decode(parts[i]) : parts[i];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

std::string quote_etag(std::string_view s) {
  return fmt::format("\"{}\"", s);
}

// An ETag without W/ and quotes, as HH `_normalize_etag` does.
std::string normalize_etag(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  if (s.starts_with("W/")) {
    s.remove_prefix(2);
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

bool if_none_match(const httplib::Request& req, std::string_view etag) {
  if (!req.has_header("If-None-Match") || etag.empty()) {
    return false;
  }
  for (const std::string& candidate : split(req.get_header_value("If-None-Match"), ',')) {
    std::string e = normalize_etag(candidate);
    if (e == "*" || e == etag) {
      return true;
    }
  }
  return false;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::uint64_t read_le64(std::string_view bytes) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    n |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  return n;
}

bool add_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return __builtin_add_overflow(a, b, &out);
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return __builtin_mul_overflow(a, b, &out);
}

bool has_lfs_extension(std::string_view path) {
  static const std::vector<std::string_view> k_lfs = {
      ".safetensors", ".bin", ".gguf", ".h5", ".msgpack", ".pt", ".pth", ".onnx", ".ckpt", ".ot"};
  return std::any_of(k_lfs.begin(), k_lfs.end(),
                     [&](std::string_view ext) { return path.ends_with(ext); });
}

// ---------------------------------------------------------------------------------------------
// Repository model

struct FileEntry {
  std::string path;
  std::shared_ptr<const std::string> bytes;  // what is on disk / in memory
  std::uint64_t size = 0;                    // served size (logical for safetensors)
  bool lfs = false;
  std::string git_oid;  // sha1 of the git blob (the pointer text for LFS files)
  std::string sha256;   // LFS oid: a sha256 of (bytes, size), standing in for the content hash
  std::string pointer;  // LFS pointer text
  std::map<std::string, std::uint64_t> params;  // safetensors: elements per dtype
  bool safetensors_ok = false;
};

struct Repo {
  RepoSpec spec;
  std::map<std::string, FileEntry> files;  // sorted by path
  std::map<std::string, std::uint64_t> params;
  std::uint64_t total_params = 0;
  bool has_safetensors = false;
};

using RepoPtr = std::shared_ptr<const Repo>;

// The repo's 24-hex `_id` (/api/models), also the repo segment of its CDN URLs.
std::string repo_object_id(std::string_view id) {
  return sha1_hex({"id:", id}).substr(0, 24);
}

// splitmix64's finaliser: a well-mixed 64-bit value from any 64-bit input.
std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// FNV-1a of a string, the storm's request key.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  }
  return h;
}

std::string repo_key(RepoSpec::Type type, std::string_view id) {
  return fmt::format("{}/{}", type == RepoSpec::Type::model ? "models" : "datasets", id);
}

std::string type_prefix(RepoSpec::Type type) {
  return type == RepoSpec::Type::model ? "" : "/datasets";
}

std::string type_plural(RepoSpec::Type type) {
  return type == RepoSpec::Type::model ? "models" : "datasets";
}

// Logical size and per-dtype element counts of a (possibly header-only) safetensors file.
// Returns false if the header does not parse; the file is then served as it is.
bool inspect_safetensors(const std::string& bytes, std::uint64_t& logical,
                         std::map<std::string, std::uint64_t>& params) {
  if (bytes.size() < 8) {
    return false;
  }
  std::uint64_t n = read_le64(bytes);
  if (n > bytes.size() - 8) {
    return false;
  }
  // simdjson, not nlohmann: the mock reads every header of every repo it serves (191 shards for
  // Llama-3.1-405B), and a compiled library stays fast in the unoptimised sanitizer build.
  simdjson::dom::parser parser;
  simdjson::dom::object header;
  if (parser.parse(bytes.data() + 8, static_cast<size_t>(n)).get_object().get(header)) {
    return false;
  }
  std::uint64_t data_end = 0;
  std::map<std::string, std::uint64_t> counts;
  for (auto [name, info] : header) {
    if (name == "__metadata__") {
      continue;
    }
    simdjson::dom::array offsets, shape;
    std::string_view dtype;
    std::uint64_t end = 0;
    if (info["data_offsets"].get_array().get(offsets) || offsets.size() != 2 ||
        offsets.at(1).get_uint64().get(end) || info["shape"].get_array().get(shape) ||
        info["dtype"].get_string().get(dtype)) {
      return false;
    }
    data_end = std::max(data_end, end);
    std::uint64_t elements = 1;
    for (auto dim : shape) {
      std::uint64_t d = 0;
      if (dim.get_uint64().get(d) || mul_overflows(elements, d, elements)) {
        return false;
      }
    }
    std::uint64_t& slot = counts[std::string(dtype)];
    if (add_overflows(slot, elements, slot)) {
      return false;
    }
  }
  std::uint64_t size = 0;
  if (add_overflows(8 + n, data_end, size)) {
    return false;
  }
  logical = std::max<std::uint64_t>(size, bytes.size());
  params = std::move(counts);
  return true;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("mock hub: cannot read " + path.string());
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

FileEntry make_entry(const RepoSpec& spec, std::string path, std::string bytes) {
  FileEntry f;
  f.path = std::move(path);
  f.size = bytes.size();
  if (f.path.ends_with(".safetensors")) {
    f.safetensors_ok = inspect_safetensors(bytes, f.size, f.params);
  }
  if (auto it = spec.sizes.find(f.path); it != spec.sizes.end()) {
    f.size = it->second;
  }
  f.lfs = has_lfs_extension(f.path) || (f.size >= k_small_file_limit && !f.path.ends_with(".json"));
  if (f.lfs) {
    f.sha256 = sha256_hex({bytes, std::to_string(f.size)});
    f.pointer = fmt::format("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
                            f.sha256, f.size);
    f.git_oid =
        sha1_hex({fmt::format("blob {}", f.pointer.size()), std::string_view("\0", 1), f.pointer});
  } else {
    f.git_oid = sha1_hex({fmt::format("blob {}", bytes.size()), std::string_view("\0", 1), bytes});
  }
  f.bytes = std::make_shared<const std::string>(std::move(bytes));
  return f;
}

std::shared_ptr<Repo> build_repo(RepoSpec spec) {
  auto repo = std::make_shared<Repo>();
  auto fill_refs = [&](auto& refs) {
    for (auto& [name, commit] : refs) {
      if (commit.empty()) {
        commit = derived_commit(spec.id, fmt::format("{}", name));
      }
    }
  };
  if (spec.branches.empty()) {
    spec.branches["main"] = "";
  }
  fill_refs(spec.branches);
  fill_refs(spec.tags);
  for (auto& [number, commit] : spec.prs) {
    if (commit.empty()) {
      commit = derived_commit(spec.id, fmt::format("refs/pr/{}", number));
    }
  }
  if (!spec.folder.empty() && !spec.renamed_to) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(spec.folder)) {
      if (!entry.is_regular_file()) {
        continue;
      }
      std::string rel = std::filesystem::relative(entry.path(), spec.folder).generic_string();
      if (spec.hidden.count(rel) != 0 || spec.files.count(rel) != 0) {
        continue;
      }
      repo->files.emplace(rel, make_entry(spec, rel, read_file(entry.path())));
    }
  }
  for (const auto& [path, bytes] : spec.files) {
    repo->files.insert_or_assign(path, make_entry(spec, path, bytes));
  }
  for (const auto& [path, f] : repo->files) {
    if (!f.safetensors_ok) {
      continue;
    }
    repo->has_safetensors = true;
    for (const auto& [dtype, n] : f.params) {
      repo->params[dtype] += n;
      repo->total_params += n;
    }
  }
  repo->spec = std::move(spec);
  return repo;
}

// ---------------------------------------------------------------------------------------------
// Serving bytes

const std::string& zeros() {
  static const std::string k_zeros(k_chunk, '\0');
  return k_zeros;
}

// Appends bytes [offset, offset+length) of the served file: real bytes, then zeros.
void copy_bytes(const std::string& bytes, std::uint64_t offset, std::size_t length,
                std::string& out) {
  out.clear();
  if (offset < bytes.size()) {
    std::size_t n = std::min<std::size_t>(length, bytes.size() - static_cast<std::size_t>(offset));
    out.append(bytes, static_cast<std::size_t>(offset), n);
  }
  if (out.size() < length) {
    out.append(length - out.size(), '\0');
  }
}

// Streams [offset, offset+length) of `bytes` (zero-filled past its end) into `sink`.
bool write_slice(const std::string& bytes, std::uint64_t offset, std::uint64_t length,
                 httplib::DataSink& sink) {
  std::uint64_t n = std::min<std::uint64_t>(length, k_chunk);
  if (offset >= bytes.size()) {
    return sink.write(zeros().data(), static_cast<std::size_t>(n));
  }
  std::string buf;
  copy_bytes(bytes, offset, static_cast<std::size_t>(n), buf);
  return sink.write(buf.data(), buf.size());
}

struct GzipStream {
  z_stream z{};
  bool ok = false;
  std::uint64_t position = 0;
  GzipStream() {
    ok =
        deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipStream() {
    if (ok) {
      deflateEnd(&z);
    }
  }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;
};

enum class RangeKind { none, single, unsatisfiable, ignored };

struct ByteRange {
  RangeKind kind = RangeKind::none;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  out = std::stoull(std::string(s));
  return true;
}

// RFC 9110 single byte ranges; multi-range and malformed headers are ignored (full 200),
// which is what S3/CloudFront do (HUB_PROTOCOL.md §7).
ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange r;
  if (header.empty()) {
    return r;
  }
  r.kind = RangeKind::ignored;
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) {
    return r;
  }
  std::string_view spec = header.substr(6);
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) {
    return r;
  }
  std::string_view a = spec.substr(0, dash);
  std::string_view b = spec.substr(dash + 1);
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  if (a.empty()) {
    if (!parse_u64(b, last)) {
      return r;
    }
    if (last == 0 || size == 0) {
      r.kind = RangeKind::unsatisfiable;
      return r;
    }
    r.kind = RangeKind::single;
    r.first = size - std::min(size, last);
    r.last = size - 1;
    return r;
  }
  if (!parse_u64(a, first) || (!b.empty() && !parse_u64(b, last))) {
    return r;
  }
  if (b.empty()) {
    last = std::numeric_limits<std::uint64_t>::max();
  }
  if (last < first) {
    return r;
  }
  if (first >= size) {
    r.kind = RangeKind::unsatisfiable;
    return r;
  }
  r.kind = RangeKind::single;
  r.first = first;
  r.last = std::min(last, size - 1);
  return r;
}

// httplib 0.11.4 listens with a backlog of 5: a burst of 200 connections overflows the accept
// queue and clients time out. Re-listening on the bound socket raises the backlog (Linux).
class Server : public httplib::Server {
 public:
  bool raise_backlog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }
};

// A worker pool that starts threads on demand, up to `max`: httplib's ThreadPool starts them all
// up front, which costs seconds per hub under ASan when ~200 workers are allowed. Each
// keep-alive connection holds a worker for its lifetime.
// Set while a connection the server refuses (one over MockHubOptions::refuse_connections_above)
// is being handled: its first request closes it, as a server that accepts and drops does.
thread_local bool t_refused_connection = false;

// Connections of one server: open now, the most open at once, opened, refused.
struct ConnectionCounters {
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> peak{0};
  std::atomic<std::size_t> opened{0};
  std::atomic<std::size_t> refused{0};
  std::size_t refuse_above = 0;  // 0: never
};

// httplib's task queue, one task per accepted connection (it holds a worker until the client
// closes it or the keep-alive timeout ends it): threads are made as needed, up to `max`, and
// connections beyond that wait for one to finish. Counts connections for ConnectionStats.
class ElasticPool : public httplib::TaskQueue {
 public:
  ElasticPool(std::size_t max, ConnectionCounters* counters) : m_max(max), m_counters(counters) {}
  ~ElasticPool() override = default;
  ElasticPool(const ElasticPool&) = delete;
  ElasticPool& operator=(const ElasticPool&) = delete;

  void enqueue(std::function<void()> fn) override {
    ConnectionCounters& c = *m_counters;
    const std::size_t open = ++c.open;
    ++c.opened;
    std::size_t peak = c.peak.load();
    while (open > peak && !c.peak.compare_exchange_weak(peak, open)) {
    }
    const bool refused = c.refuse_above > 0 && open > c.refuse_above;
    if (refused) {
      ++c.refused;
    }
    std::lock_guard lock(m_mutex);
    m_jobs.push_back([fn = std::move(fn), refused, &c] {
      t_refused_connection = refused;
      fn();
      t_refused_connection = false;
      --c.open;
    });
    if (m_jobs.size() > m_idle && m_threads.size() < m_max) {
      m_threads.emplace_back([this] { work(); });
    } else {
      m_cv.notify_one();
    }
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(m_mutex);
      m_shutdown = true;
      threads.swap(m_threads);
    }
    m_cv.notify_all();
    for (std::thread& t : threads) {
      t.join();
    }
  }

 private:
  void work() {
    std::unique_lock lock(m_mutex);
    while (true) {
      ++m_idle;
      m_cv.wait(lock, [this] { return m_shutdown || !m_jobs.empty(); });
      --m_idle;
      if (m_jobs.empty()) {
        return;
      }
      std::function<void()> fn = std::move(m_jobs.front());
      m_jobs.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::size_t m_max;
  ConnectionCounters* m_counters;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_jobs;
  std::vector<std::thread> m_threads;
  std::size_t m_idle = 0;
  bool m_shutdown = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public free functions

RepoSpec corpus_repo(const std::filesystem::path& folder) {
  std::string name = folder.filename().string();
  if (name.empty()) {
    name = folder.parent_path().filename().string();
  }
  RepoSpec spec;
  std::size_t sep = name.find("__");
  spec.id = sep == std::string::npos ? name : name.substr(0, sep) + "/" + name.substr(sep + 2);
  spec.folder = folder;
  return spec;
}

std::vector<RandomFault> all_random_faults() {
  return {RandomFault::status_500,
          RandomFault::status_502,
          RandomFault::status_503,
          RandomFault::status_504,
          RandomFault::status_429,
          RandomFault::truncate_body,
          RandomFault::close_mid_stream,
          RandomFault::ignore_range,
          RandomFault::reset,
          RandomFault::stall,
          RandomFault::stall_mid_stream,
          RandomFault::redirect_loop};
}

std::string to_json_line(const RequestRecord& r) {
  Json j = {{"host", r.host},
            {"cdn", r.cdn},
            {"method", r.method},
            {"path", r.path},
            {"query", r.query},
            {"range", r.range},
            {"accept_encoding", r.accept_encoding},
            {"user_agent", r.user_agent},
            {"authorization", r.authorization},
            {"authorization_fingerprint", r.authorization_fingerprint},
            {"status", r.status},
            {"remote_port", r.remote_port},
            {"new_connection", r.new_connection},
            {"fault", r.fault}};
  return j.dump();
}

std::string token_fingerprint(std::string_view authorization_value) {
  return sha256_hex({"mock-hub-token:", authorization_value}).substr(0, 16);
}

std::string derived_commit(std::string_view id, std::string_view ref) {
  return sha1_hex({"mbuild-mock-hub:", id, ":", ref});
}

// ---------------------------------------------------------------------------------------------
// The servers

class MockHub::Impl {
 public:
  explicit Impl(MockHubOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void add_repo(RepoSpec spec);
  void add_copy(const std::string& id, const std::string& copy_id);
  std::string endpoint() const {
    return fmt::format("http://{}:{}", m_options.hub_host, m_hub_port);
  }
  std::string cdn_origin() const {
    return fmt::format("http://{}:{}", m_options.cdn_host, m_cdn_port);
  }
  // Where redirects send clients: a front before the CDN server when there is one.
  std::string cdn_link_origin() const {
    return m_options.cdn_advertised_origin.empty() ? cdn_origin() : m_options.cdn_advertised_origin;
  }
  std::string commit_of(std::string_view id, std::string_view rev) const;
  std::optional<std::uint64_t> served_size(std::string_view id, std::string_view path) const;

  Faults faults() const {
    std::lock_guard lock(m_faults_mutex);
    return m_faults;
  }
  void update_faults(const std::function<void(Faults&)>& edit) {
    {
      std::lock_guard lock(m_faults_mutex);
      edit(m_faults);
      if (m_faults.random_seed != m_seeded_with) {
        m_occurrences.clear();
        m_seeded_with = m_faults.random_seed;
      }
    }
    // Held requests look again (a gate opened).
    { std::lock_guard lock(m_sleep_mutex); }
    m_sleep_cv.notify_all();
  }
  bool holding() const {
    std::lock_guard lock(m_faults_mutex);
    return m_faults.hold;
  }
  std::vector<RequestRecord> requests() const {
    std::lock_guard lock(m_log_mutex);
    return m_log;
  }
  void clear_requests() {
    std::lock_guard lock(m_log_mutex);
    m_log.clear();
    m_seen_connections[0].clear();
    m_seen_connections[1].clear();
  }
  std::size_t request_count() const {
    std::lock_guard lock(m_log_mutex);
    return m_log.size();
  }
  ConnectionStats connection_stats(bool cdn) const {
    const ConnectionCounters& c = m_connections[cdn ? 1 : 0];
    return {c.opened.load(), c.peak.load(), c.refused.load()};
  }
  void reset_connection_stats() {
    for (ConnectionCounters& c : m_connections) {
      c.opened = 0;
      c.refused = 0;
      c.peak = c.open.load();
    }
  }

 private:
  // Everything known about one request while it is being answered.
  struct Exchange {
    Exchange(const httplib::Request& request, httplib::Response& response)
        : req(request), res(response) {}
    const httplib::Request& req;
    httplib::Response& res;
    bool cdn = false;
    bool head = false;
    std::string raw_path;
    std::string raw_query;
    std::vector<std::string> segments;  // raw (percent-encoded) path segments
    Faults faults;
    bool faults_apply = false;  // request-level faults target this request
    std::optional<RandomFault> random;
    bool stall_mid_stream = false;  // the random stall_mid_stream fault
    std::string fault;              // recorded
  };

  enum class Caller { anonymous, valid, invalid };

  void configure(httplib::Server& server, bool cdn);
  void handle(bool cdn, const httplib::Request& req, httplib::Response& res);
  void record(bool cdn, const httplib::Request& req, int status, const std::string& fault,
              bool new_connection);
  bool is_new_connection(bool cdn, const httplib::Request& req);
  std::optional<RandomFault> draw_random_fault(bool cdn, const Exchange& ex);
  int connection_socket(bool cdn, const httplib::Request& req) const;
  void sleep_for(std::chrono::milliseconds d);
  bool stopping() const { return m_stopping.load(); }

  bool apply_status_fault(Exchange& ex);
  void route_hub(Exchange& ex);
  void route_cdn(Exchange& ex);
  void handle_repo_route(Exchange& ex, RepoSpec::Type type, std::size_t first);
  void handle_api_route(Exchange& ex, RepoSpec::Type type);
  void handle_resolve_cache(Exchange& ex);
  void handle_mock_route(Exchange& ex);

  void resolve(Exchange& ex, const RepoPtr& repo, const std::string& rev, const std::string& path);
  void raw(Exchange& ex, const RepoPtr& repo, const std::string& rev, const std::string& path);
  void model_info(Exchange& ex, const RepoPtr& repo, const std::string& rev);
  void tree(Exchange& ex, const RepoPtr& repo, const std::string& rev, const std::string& path);
  void refs(Exchange& ex, const RepoPtr& repo);

  Caller caller(const httplib::Request& req) const;
  RepoPtr find_repo(RepoSpec::Type type, const std::string& id, bool& case_mismatch) const;
  void install(RepoPtr repo);
  RepoPtr open_repo(Exchange& ex, RepoSpec::Type type, const std::string& id, bool files,
                    const std::function<std::string(const std::string&)>& location_for);
  std::string resolve_rev(const Repo& repo, const std::string& rev, const Faults& f) const;
  bool known_commit(const Repo& repo, const std::string& commit) const;

  void error(Exchange& ex, int status, std::string_view code, const std::string& message);
  void redirect(Exchange& ex, int status, const std::string& location);
  void set_body(Exchange& ex, std::string body, const std::string& content_type);
  void serve_bytes(Exchange& ex, std::shared_ptr<const std::string> bytes, std::uint64_t size,
                   const std::string& etag, const std::string& content_type);
  std::string cdn_url(const std::string& repo_id, const FileEntry& f, const Faults& faults) const;
  std::string signature(std::string_view key, std::string_view expires) const;

  MockHubOptions m_options;
  Server m_hub;
  Server m_cdn;
  int m_hub_port = 0;
  int m_cdn_port = 0;
  std::thread m_hub_thread;
  std::thread m_cdn_thread;
  std::atomic<bool> m_stopping{false};
  std::mutex m_sleep_mutex;
  std::condition_variable m_sleep_cv;

  mutable std::shared_mutex m_repos_mutex;
  std::map<std::string, RepoPtr> m_repos;  // repo_key -> repo
  // "{repo _id}/{sha256}" -> (repo, path)
  std::map<std::string, std::pair<RepoPtr, std::string>> m_blobs;
  std::set<std::string> m_approved_tokens;  // every token some repo approves

  mutable std::mutex m_faults_mutex;
  Faults m_faults;
  std::unordered_map<std::string, std::uint64_t> m_occurrences;  // storm key -> times seen
  std::uint64_t m_seeded_with = 1;

  mutable std::mutex m_log_mutex;
  std::vector<RequestRecord> m_log;
  std::unordered_set<std::string> m_seen_connections[2];  // [hub, cdn]: "addr:port"
  ConnectionCounters m_connections[2];                    // [hub, cdn]
};

namespace {
// Set while the pre-routing handler answers a request, so the logger only records requests
// httplib answered by itself (e.g. 416 for a Range header it cannot parse).
thread_local bool t_handled = false;

// Calls `take(fd, peer)` with a duplicate of each connected IPv4 socket of this process whose
// local end is host:port, until it returns true; returns that duplicate (the caller closes it),
// or -1. A duplicate, not the descriptor itself: if `fd` is closed and its number reused
// meanwhile, the checks and what the caller does with it still concern one and the same socket.
template <class Take>
int find_server_socket(const std::string& host, int port, Take take) {
  in_addr want{};
  if (inet_pton(AF_INET, host.c_str(), &want) != 1) {
    return -1;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = 0;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
      continue;
    }
    struct stat st {};
    sockaddr_in local{};
    socklen_t len = sizeof local;
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    if (fstat(dup, &st) == 0 && S_ISSOCK(st.st_mode) &&
        getsockname(dup, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        local.sin_family == AF_INET && local.sin_addr.s_addr == want.s_addr &&
        ntohs(local.sin_port) == port &&
        getpeername(dup, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0 && take(dup, peer)) {
      return dup;
    }
    ::close(dup);
  }
  return -1;
}

// Wakes worker threads parked in keep-alive waits on connections that are still open, so that
// stopping does not wait for the keep-alive timeout (httplib 0.11 has no hook for this).
void shutdown_connections(const std::string& host, int port) {
  find_server_socket(host, port, [](int fd, const sockaddr_in&) {
    ::shutdown(fd, SHUT_RDWR);
    return false;
  });
}
}  // namespace

MockHub::Impl::Impl(MockHubOptions options) : m_options(std::move(options)) {
  configure(m_hub, false);
  configure(m_cdn, true);
  m_hub_port =
      m_options.hub_port == 0
          ? m_hub.bind_to_any_port(m_options.hub_host)
          : (m_hub.bind_to_port(m_options.hub_host, m_options.hub_port) ? m_options.hub_port : -1);
  if (m_hub_port <= 0) {
    throw std::runtime_error("mock hub: cannot bind " + m_options.hub_host);
  }
  m_cdn_port =
      m_options.cdn_port == 0
          ? m_cdn.bind_to_any_port(m_options.cdn_host)
          : (m_cdn.bind_to_port(m_options.cdn_host, m_options.cdn_port) ? m_options.cdn_port : -1);
  if (m_cdn_port <= 0) {
    throw std::runtime_error("mock hub: cannot bind " + m_options.cdn_host);
  }
  if (!m_hub.raise_backlog() || !m_cdn.raise_backlog()) {
    throw std::runtime_error("mock hub: cannot raise the listen backlog");
  }
  m_hub_thread = std::thread([this] { m_hub.listen_after_bind(); });
  m_cdn_thread = std::thread([this] { m_cdn.listen_after_bind(); });
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while ((!m_hub.is_running() || !m_cdn.is_running()) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MockHub::Impl::~Impl() {
  m_stopping = true;
  { std::lock_guard lock(m_sleep_mutex); }
  m_sleep_cv.notify_all();
  m_hub.stop();
  m_cdn.stop();
  shutdown_connections(m_options.hub_host, m_hub_port);
  shutdown_connections(m_options.cdn_host, m_cdn_port);
  if (m_hub_thread.joinable()) {
    m_hub_thread.join();
  }
  if (m_cdn_thread.joinable()) {
    m_cdn_thread.join();
  }
}

void MockHub::Impl::configure(httplib::Server& server, bool cdn) {
  std::size_t threads = std::max<std::size_t>(m_options.worker_threads, 4);
  ConnectionCounters* counters = &m_connections[cdn ? 1 : 0];
  counters->refuse_above = m_options.refuse_connections_above;
  server.new_task_queue = [threads, counters] { return new ElasticPool(threads, counters); };
  server.set_keep_alive_max_count(std::max<std::size_t>(m_options.keep_alive_max_requests, 1));
  server.set_keep_alive_timeout(std::max(m_options.keep_alive_timeout_seconds, 1));
  server.set_tcp_nodelay(true);
  server.set_pre_routing_handler([this, cdn](const httplib::Request& req, httplib::Response& res) {
    t_handled = true;
    handle(cdn, req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_logger([this, cdn](const httplib::Request& req, const httplib::Response& res) {
    if (!t_handled) {
      record(cdn, req, res.status, "", is_new_connection(cdn, req));
    }
    t_handled = false;
  });
}

bool MockHub::Impl::is_new_connection(bool cdn, const httplib::Request& req) {
  std::lock_guard lock(m_log_mutex);
  return m_seen_connections[cdn ? 1 : 0]
      .insert(fmt::format("{}:{}", req.remote_addr, req.remote_port))
      .second;
}

// The storm's draw for one request: a hash of the seed, the request and how many times that same
// request has been seen, so that a seed reproduces its storm whatever the interleaving.
std::optional<RandomFault> MockHub::Impl::draw_random_fault(bool cdn, const Exchange& ex) {
  const Faults& f = m_faults;  // the caller holds m_faults_mutex
  if (f.random_fault_rate <= 0 || f.random_faults.empty() || ex.raw_path.starts_with("/mock/")) {
    return std::nullopt;
  }
  // The CDN's query holds a signature and an expiry time: its path (repo _id and oid) is enough.
  std::string key =
      fmt::format("{}\n{}\n{}\n{}\n{}", cdn ? "cdn" : "hub", ex.req.method, ex.raw_path,
                  cdn ? "" : ex.raw_query, ex.req.get_header_value("Range"));
  std::uint64_t occurrence = m_occurrences[key]++;
  std::uint64_t h = mix64(mix64(f.random_seed ^ fnv1a(key)) + occurrence);
  double coin = static_cast<double>(h >> 11) * 0x1.0p-53;
  if (coin >= f.random_fault_rate) {
    return std::nullopt;
  }
  return f.random_faults[mix64(h) % f.random_faults.size()];
}

// A duplicate of the server-side socket `req` arrived on, found by its two ends, or -1.
int MockHub::Impl::connection_socket(bool cdn, const httplib::Request& req) const {
  in_addr peer_want{};
  if (inet_pton(AF_INET, req.remote_addr.c_str(), &peer_want) != 1) {
    return -1;
  }
  return find_server_socket(cdn ? m_options.cdn_host : m_options.hub_host,
                            cdn ? m_cdn_port : m_hub_port, [&](int, const sockaddr_in& peer) {
                              return peer.sin_family == AF_INET &&
                                     peer.sin_addr.s_addr == peer_want.s_addr &&
                                     ntohs(peer.sin_port) == req.remote_port;
                            });
}

void MockHub::Impl::record(bool cdn, const httplib::Request& req, int status,
                           const std::string& fault, bool new_connection) {
  RequestRecord r;
  r.cdn = cdn;
  r.host = cdn ? fmt::format("{}:{}", m_options.cdn_host, m_cdn_port)
               : fmt::format("{}:{}", m_options.hub_host, m_hub_port);
  r.method = req.method;
  std::size_t q = req.target.find('?');
  r.path = req.target.substr(0, q);
  r.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  r.range = req.get_header_value("Range");
  r.accept_encoding = req.get_header_value("Accept-Encoding");
  r.user_agent = req.get_header_value("User-Agent");
  r.authorization = req.has_header("Authorization");
  if (r.authorization) {
    r.authorization_fingerprint = token_fingerprint(req.get_header_value("Authorization"));
  }
  r.status = status;
  r.remote_port = req.remote_port;
  r.new_connection = new_connection;
  r.fault = fault;
  std::lock_guard lock(m_log_mutex);
  m_log.push_back(std::move(r));
}

void MockHub::Impl::sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) {
    return;
  }
  std::unique_lock lock(m_sleep_mutex);
  m_sleep_cv.wait_for(lock, d, [this] { return stopping(); });
}

void MockHub::Impl::add_repo(RepoSpec spec) {
  install(build_repo(std::move(spec)));
}

void MockHub::Impl::add_copy(const std::string& id, const std::string& copy_id) {
  bool mismatch = false;
  RepoPtr from = find_repo(RepoSpec::Type::model, id, mismatch);
  if (!from || mismatch) {
    from = find_repo(RepoSpec::Type::dataset, id, mismatch);
  }
  if (!from || mismatch) {
    throw std::runtime_error("mock hub: no repo " + id + " to copy");
  }
  auto repo = std::make_shared<Repo>(*from);  // file bytes are shared, not copied
  repo->spec.id = copy_id;
  install(std::move(repo));
}

void MockHub::Impl::install(RepoPtr repo) {
  std::unique_lock lock(m_repos_mutex);
  for (const auto& [path, f] : repo->files) {
    if (f.lfs) {
      m_blobs[repo_object_id(repo->spec.id) + "/" + f.sha256] = {repo, path};
    }
  }
  m_approved_tokens.insert(repo->spec.approved_tokens.begin(), repo->spec.approved_tokens.end());
  m_repos[repo_key(repo->spec.type, repo->spec.id)] = repo;
}

std::string MockHub::Impl::commit_of(std::string_view id, std::string_view rev) const {
  bool mismatch = false;
  RepoPtr repo = find_repo(RepoSpec::Type::model, std::string(id), mismatch);
  if (!repo) {
    repo = find_repo(RepoSpec::Type::dataset, std::string(id), mismatch);
  }
  return repo ? resolve_rev(*repo, std::string(rev), faults()) : "";
}

std::optional<std::uint64_t> MockHub::Impl::served_size(std::string_view id,
                                                        std::string_view path) const {
  bool mismatch = false;
  RepoPtr repo = find_repo(RepoSpec::Type::model, std::string(id), mismatch);
  if (!repo) {
    repo = find_repo(RepoSpec::Type::dataset, std::string(id), mismatch);
  }
  if (!repo) {
    return std::nullopt;
  }
  auto it = repo->files.find(std::string(path));
  if (it == repo->files.end()) {
    return std::nullopt;
  }
  return it->second.size;
}

// ---------------------------------------------------------------------------------------------
// Dispatch

void MockHub::Impl::handle(bool cdn, const httplib::Request& req, httplib::Response& res) {
  // httplib 0.11.4 applies Range itself without clamping the end to the size (a wrong
  // Content-Range for bytes=0-100000 on a small file) and even to redirects: the mock
  // handles Range alone. `req` is a non-const object inside httplib, so this is well-defined.
  const_cast<httplib::Request&>(req).ranges.clear();

  Exchange ex(req, res);
  ex.cdn = cdn;
  ex.head = req.method == "HEAD";
  std::size_t q = req.target.find('?');
  ex.raw_path = req.target.substr(0, q);
  ex.raw_query = q == std::string::npos ? "" : req.target.substr(q + 1);
  ex.segments = split(std::string_view(ex.raw_path).substr(ex.raw_path.empty() ? 0 : 1), '/');

  bool new_connection = is_new_connection(cdn, req);
  {
    std::lock_guard lock(m_faults_mutex);
    ex.faults = m_faults;
    bool target_ok =
        m_faults.target == FaultTarget::any || (m_faults.target == FaultTarget::cdn) == cdn;
    ex.faults_apply =
        target_ok &&
        (m_faults.path_contains.empty() ||
         ex.raw_path.find(m_faults.path_contains) != std::string::npos) &&
        (m_faults.range_contains.empty() ||
         req.get_header_value("Range").find(m_faults.range_contains) != std::string::npos);
    if (ex.faults_apply && m_faults.fail_next_n > 0) {
      --m_faults.fail_next_n;
      ex.faults.fail_next_n = 1;
    } else {
      ex.faults.fail_next_n = 0;
    }
    if (ex.faults_apply) {
      ex.random = draw_random_fault(cdn, ex);
    }
  }

  if (new_connection) {
    sleep_for(ex.faults.new_connection_latency);
  }
  sleep_for(ex.faults.latency);
  if (ex.faults_apply && ex.faults.stall.count() > 0) {
    ex.fault = "stall";
    sleep_for(ex.faults.stall);
  }
  if (ex.faults_apply && ex.faults.hold) {
    ex.fault = "hold";
    std::unique_lock lock(m_sleep_mutex);
    m_sleep_cv.wait(lock, [this] { return stopping() || !holding(); });
  }

  bool reset = t_refused_connection;
  if (ex.random) {
    switch (*ex.random) {
      case RandomFault::status_500:
        ex.faults.fail_next_n = 1;
        ex.faults.fail_status = 500;
        break;
      case RandomFault::status_502:
        ex.faults.fail_next_n = 1;
        ex.faults.fail_status = 502;
        break;
      case RandomFault::status_503:
        ex.faults.fail_next_n = 1;
        ex.faults.fail_status = 503;
        break;
      case RandomFault::status_504:
        ex.faults.fail_next_n = 1;
        ex.faults.fail_status = 504;
        break;
      case RandomFault::status_429:
        ex.faults.fail_next_n = 1;
        ex.faults.fail_status = 429;
        ex.faults.retry_after_seconds = 0;
        break;
      // Body faults are recorded by serve_bytes, and only where they change the answer.
      case RandomFault::truncate_body:
        ex.faults.truncate_body = true;
        break;
      case RandomFault::close_mid_stream:
        ex.faults.close_mid_stream = true;
        break;
      case RandomFault::ignore_range:
        ex.faults.ignore_range = true;
        break;
      case RandomFault::stall_mid_stream:
        ex.stall_mid_stream = true;
        break;
      case RandomFault::redirect_loop:
        ex.faults.redirect_loop = true;  // recorded by resolve()
        break;
      case RandomFault::stall:
        ex.fault = "stall";
        sleep_for(ex.faults.random_stall);
        break;
      case RandomFault::reset:
        reset = true;
        break;
    }
  }
  if (!ex.faults_apply) {
    // Request-level faults only hit the targeted requests.
    Faults& f = ex.faults;
    f.ignore_range = f.gzip_on_range = f.truncate_body = f.close_mid_stream = false;
    f.chunked_bodies = f.wrong_content_range = f.redirect_loop = false;
    f.redirect_hops = 0;
  }

  if (reset) {
    // Recorded first, so the log is complete by the time the client sees the connection die.
    // Nothing reaches the client: httplib's write of this answer fails on the dead socket.
    if (int fd = connection_socket(cdn, req); fd >= 0) {
      record(cdn, req, 0, t_refused_connection ? "refused" : "reset", new_connection);
      linger abortive{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
      res.status = 500;
      return;
    }
  }
  try {
    if (req.method != "GET" && req.method != "HEAD") {
      error(ex, 405, "", "Method not allowed");
    } else if (!apply_status_fault(ex)) {
      if (cdn) {
        route_cdn(ex);
      } else {
        route_hub(ex);
      }
    }
  } catch (const std::exception& e) {
    res = httplib::Response();
    error(ex, 500, "", fmt::format("mock hub: {}", e.what()));
  }
  if (res.status <= 0) {
    res.status = 200;
  }
  record(cdn, req, res.status, ex.fault, new_connection);
}

bool MockHub::Impl::apply_status_fault(Exchange& ex) {
  const Faults& f = ex.faults;
  if (f.fail_next_n <= 0) {
    return false;
  }
  ex.fault = fmt::format("status_{}", f.fail_status);
  if (f.fail_status == 429) {
    int t = std::max(f.retry_after_seconds, 0);
    if (f.ratelimit_header) {
      std::string policy =
          ex.raw_path.starts_with("/api/") && !ex.raw_path.starts_with("/api/resolve-cache/")
              ? "api"
              : "resolvers";
      ex.res.set_header("RateLimit", fmt::format("\"{}\";r=0;t={}", policy, t));
      ex.res.set_header("RateLimit-Policy",
                        fmt::format("\"fixed window\";\"{}\";q=3000;w=300", policy));
    }
    ex.res.set_header("Retry-After", f.retry_after_http_date ? http_date(std::time(nullptr) + t)
                                                             : std::to_string(t));
    error(ex, 429, "",
          "You have exceeded our hourly quotas for action 'resolve'. We invite you to "
          "retry later or on a paid plan.");
    return true;
  }
  error(ex, f.fail_status, "", f.fail_status == 504 ? "Gateway Timeout" : "Internal Error");
  return true;
}

void MockHub::Impl::route_hub(Exchange& ex) {
  const auto& s = ex.segments;
  if (s.empty() || s[0].empty()) {
    error(ex, 404, "", "Not Found");
    return;
  }
  if (s[0] == "api" && s.size() >= 2) {
    if (s[1] == "resolve-cache") {
      handle_resolve_cache(ex);
    } else if (s[1] == "models") {
      handle_api_route(ex, RepoSpec::Type::model);
    } else if (s[1] == "datasets") {
      handle_api_route(ex, RepoSpec::Type::dataset);
    } else {
      error(ex, 404, "", "Not Found");
    }
    return;
  }
  if (s[0] == "mock") {
    handle_mock_route(ex);
    return;
  }
  if (s[0] == "datasets") {
    handle_repo_route(ex, RepoSpec::Type::dataset, 1);
    return;
  }
  if (s[0] == "spaces" || s[0] == "kernels") {
    error(ex, 404, "RepoNotFound", "Repository not found");
    return;
  }
  handle_repo_route(ex, RepoSpec::Type::model, 0);
}

// /{repo}/resolve|raw/{rev}/{path}; `first` is the index of the repo's first segment.
void MockHub::Impl::handle_repo_route(Exchange& ex, RepoSpec::Type type, std::size_t first) {
  const auto& s = ex.segments;
  auto is_action = [&](std::size_t i) {
    return i < s.size() && (s[i] == "resolve" || s[i] == "raw");
  };
  std::size_t action = 0;
  if (is_action(first + 2) && s.size() > first + 3) {
    action = first + 2;
  } else if (is_action(first + 1) && s.size() > first + 2) {
    action = first + 1;
  } else {
    error(ex, 404, "", "Not Found");
    return;
  }
  std::string id = join(s, first, action, true);
  std::string rev = url_decode(s[action + 1]);
  std::string path = join(s, action + 2, s.size(), true);
  std::string suffix = "/" + join(s, action, s.size(), false);
  std::string prefix = type_prefix(type);
  std::string query = ex.raw_query.empty() ? "" : "?" + ex.raw_query;
  RepoPtr repo = open_repo(ex, type, id, true, [&](const std::string& new_id) {
    return prefix + "/" + new_id + suffix + query;
  });
  if (!repo) {
    return;
  }
  if (s[action] == "resolve") {
    resolve(ex, repo, rev, path);
  } else {
    raw(ex, repo, rev, path);
  }
}

// /api/models|datasets/{repo}[/revision/{rev} | /tree/{rev}[/{path}] | /refs]
void MockHub::Impl::handle_api_route(Exchange& ex, RepoSpec::Type type) {
  const auto& s = ex.segments;
  auto is_action = [&](std::size_t i) {
    return i < s.size() && (s[i] == "revision" || s[i] == "tree" || s[i] == "refs");
  };
  std::size_t action = s.size();
  if (s.size() > 4 && is_action(4)) {
    action = 4;
  } else if (s.size() > 3 && is_action(3)) {
    action = 3;
  }
  if (action == s.size() && s.size() > 4) {
    error(ex, 404, "", "Not Found");
    return;
  }
  std::string id = join(s, 2, action, true);
  std::string suffix = action < s.size() ? "/" + join(s, action, s.size(), false) : "";
  std::string query = ex.raw_query.empty() ? "" : "?" + ex.raw_query;
  std::string plural = type_plural(type);
  RepoPtr repo = open_repo(ex, type, id, false, [&](const std::string& new_id) {
    return "/api/" + plural + "/" + new_id + suffix + query;
  });
  if (!repo) {
    return;
  }
  if (action == s.size()) {
    model_info(ex, repo, "main");
  } else if (s[action] == "revision" && action + 1 < s.size()) {
    model_info(ex, repo, join(s, action + 1, s.size(), true));
  } else if (s[action] == "tree" && action + 1 < s.size()) {
    tree(ex, repo, url_decode(s[action + 1]), join(s, action + 2, s.size(), true));
  } else if (s[action] == "refs") {
    refs(ex, repo);
  } else {
    error(ex, 404, "", "Not Found");
  }
}

// /api/resolve-cache/{models|datasets}/{repo}/{commit}/{path}
void MockHub::Impl::handle_resolve_cache(Exchange& ex) {
  const auto& s = ex.segments;
  if (s.size() < 6 || (s[2] != "models" && s[2] != "datasets")) {
    error(ex, 404, "", "Not Found");
    return;
  }
  RepoSpec::Type type = s[2] == "models" ? RepoSpec::Type::model : RepoSpec::Type::dataset;
  // {org}/{name}/{commit}/... or a one-part legacy id: {name}/{commit}/...
  std::size_t commit_at = 0;
  if (s.size() > 6 && is_commit(s[5])) {
    commit_at = 5;
  } else if (is_commit(s[4])) {
    commit_at = 4;
  } else {
    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + url_decode(s[5]));
    return;
  }
  std::string id = join(s, 3, commit_at, true);
  std::string commit = s[commit_at];
  std::string path = join(s, commit_at + 1, s.size(), true);
  RepoPtr repo = open_repo(ex, type, id, true, [&](const std::string& new_id) {
    return fmt::format("/api/resolve-cache/{}/{}/{}?{}", s[2], new_id,
                       join(s, commit_at, s.size(), false), ex.raw_query);
  });
  if (!repo) {
    return;
  }
  if (!known_commit(*repo, commit)) {
    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + commit);
    return;
  }
  if (!ex.faults.drop_repo_commit) {
    ex.res.set_header("X-Repo-Commit", commit);
  }
  auto it = repo->files.find(path);
  if (it == repo->files.end()) {
    error(ex, 404, "EntryNotFound", fmt::format("{} does not exist on \"{}\"", path, commit));
    return;
  }
  const FileEntry& f = it->second;
  if (f.lfs) {
    error(ex, 400, "", "LFS files are not served from the resolve cache");
    return;
  }
  serve_bytes(ex, f.bytes, f.size, f.git_oid, "text/plain; charset=utf-8");
}

// Redirect-fault targets: /mock/loop/{a|b} and /mock/hop/{k}/{n}/{target}
void MockHub::Impl::handle_mock_route(Exchange& ex) {
  const auto& s = ex.segments;
  if (s.size() == 3 && s[1] == "loop") {
    redirect(ex, 307, s[2] == "a" ? "/mock/loop/b" : "/mock/loop/a");
    return;
  }
  // /mock/hop/{k}/{n}/{hex of the final target}: hex, because some clients (httplib's) decode
  // percent-escapes in Location headers.
  if (s.size() == 5 && s[1] == "hop") {
    int k = std::atoi(s[2].c_str());
    int n = std::atoi(s[3].c_str());
    if (k >= n) {
      redirect(ex, 307, from_hex(s[4]));
    } else {
      redirect(ex, 307, fmt::format("/mock/hop/{}/{}/{}", k + 1, n, s[4]));
    }
    return;
  }
  error(ex, 404, "", "Not Found");
}

// ---------------------------------------------------------------------------------------------
// Access

MockHub::Impl::Caller MockHub::Impl::caller(const httplib::Request& req) const {
  if (!req.has_header("Authorization")) {
    return Caller::anonymous;
  }
  std::string value = req.get_header_value("Authorization");
  if (!value.starts_with("Bearer ")) {
    return Caller::invalid;
  }
  std::string token = value.substr(7);
  if (token.starts_with("hf_valid_")) {
    return Caller::valid;
  }
  std::shared_lock lock(m_repos_mutex);
  return m_approved_tokens.count(token) != 0 ? Caller::valid : Caller::invalid;
}

RepoPtr MockHub::Impl::find_repo(RepoSpec::Type type, const std::string& id,
                                 bool& case_mismatch) const {
  std::shared_lock lock(m_repos_mutex);
  case_mismatch = false;
  if (auto it = m_repos.find(repo_key(type, id)); it != m_repos.end()) {
    return it->second;
  }
  std::string want = lower(repo_key(type, id));
  for (const auto& [key, repo] : m_repos) {
    if (lower(key) == want) {
      case_mismatch = true;
      return repo;
    }
  }
  return nullptr;
}

// The repo if the caller may see it (and its files, if `files`); otherwise answers the
// request (error or 307 for a renamed or mis-cased id) and returns null.
RepoPtr MockHub::Impl::open_repo(
    Exchange& ex, RepoSpec::Type type, const std::string& id, bool files,
    const std::function<std::string(const std::string&)>& location_for) {
  Caller who = caller(ex.req);
  if (who == Caller::invalid) {
    error(ex, 401, "", "Invalid credentials in Authorization header");
    return nullptr;
  }
  bool case_mismatch = false;
  RepoPtr repo = find_repo(type, id, case_mismatch);
  std::string token =
      who == Caller::valid ? ex.req.get_header_value("Authorization").substr(7) : "";
  bool approved = repo && repo->spec.approved_tokens.count(token) != 0;
  bool visible = repo && (repo->spec.access != RepoSpec::Access::private_ || approved);
  if (visible && (case_mismatch || repo->spec.renamed_to)) {
    redirect(ex, 307, location_for(repo->spec.renamed_to ? *repo->spec.renamed_to : repo->spec.id));
    return nullptr;
  }
  if (!visible) {
    error(ex, who == Caller::anonymous ? 401 : 404, "RepoNotFound",
          who == Caller::anonymous ? "Repository not found. Invalid username or password."
                                   : "Repository not found");
    return nullptr;
  }
  if (files && repo->spec.access == RepoSpec::Access::gated && !approved) {
    std::string kind = type == RepoSpec::Type::model ? "model" : "dataset";
    if (who == Caller::anonymous) {
      error(ex, 401, "GatedRepo",
            fmt::format("Access to {} {} is restricted. You must have access to it and be "
                        "authenticated to access it. Please log in.",
                        kind, repo->spec.id));
    } else {
      error(ex, 403, "GatedRepo",
            fmt::format("Access to {} {} is restricted and you are not in the authorized list. "
                        "Visit {}/{} to ask for access.",
                        kind, repo->spec.id, endpoint(), repo->spec.id));
    }
    return nullptr;
  }
  return repo;
}

bool MockHub::Impl::known_commit(const Repo& repo, const std::string& commit) const {
  auto in = [&](const auto& refs) {
    return std::any_of(refs.begin(), refs.end(), [&](const auto& r) { return r.second == commit; });
  };
  return in(repo.spec.branches) || in(repo.spec.tags) || in(repo.spec.prs);
}

// The commit `rev` names, or "" (RevisionNotFound).
std::string MockHub::Impl::resolve_rev(const Repo& repo, const std::string& rev,
                                       const Faults& f) const {
  const RepoSpec& spec = repo.spec;
  std::string name = rev;
  if (name.starts_with("refs/heads/")) {
    name = name.substr(11);
  } else if (name.starts_with("refs/tags/")) {
    name = name.substr(10);
  }
  if (auto it = spec.branches.find(name); it != spec.branches.end()) {
    return it->second;
  }
  if (auto it = spec.tags.find(name); it != spec.tags.end()) {
    return it->second;
  }
  if (rev.starts_with("refs/pr/")) {
    std::string digits = rev.substr(8);
    if (!digits.empty() && digits.size() < 9 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (auto it = spec.prs.find(std::stoi(digits)); it != spec.prs.end()) {
        return it->second;
      }
    }
    return "";
  }
  if (is_commit(rev)) {
    return known_commit(repo, rev) ? rev : "";
  }
  if (f.short_sha_revisions && rev.size() >= 7 && rev.size() < 40 && is_hex(rev)) {
    std::set<std::string> matches;
    auto scan = [&](const auto& refs) {
      for (const auto& r : refs) {
        if (r.second.starts_with(rev)) {
          matches.insert(r.second);
        }
      }
    };
    scan(spec.branches);
    scan(spec.tags);
    scan(spec.prs);
    if (matches.size() == 1) {
      return *matches.begin();
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Responses

void MockHub::Impl::set_body(Exchange& ex, std::string body, const std::string& content_type) {
  if (body.empty()) {
    return;
  }
  // A content provider rather than set_content(): httplib would gzip text bodies on its own
  // when the client sends Accept-Encoding: gzip.
  auto shared = std::make_shared<const std::string>(std::move(body));
  ex.res.set_content_provider(
      shared->size(), content_type,
      [shared](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        return sink.write(shared->data() + offset, std::min(length, shared->size() - offset));
      });
}

void MockHub::Impl::error(Exchange& ex, int status, std::string_view code,
                          const std::string& message) {
  ex.res.status = status;
  if (!ex.faults.drop_error_code) {
    if (!code.empty()) {
      ex.res.set_header("X-Error-Code", std::string(code));
    }
    ex.res.set_header("X-Error-Message", message);
  }
  if (ex.head) {
    return;
  }
  if (ex.faults.html_error_pages) {
    set_body(ex,
             fmt::format("<!DOCTYPE html>\n<html><head><title>Hugging Face - Error {}</title>"
                         "</head><body><h1>{}</h1><p>{}</p></body></html>\n",
                         status, status, message),
             "text/html; charset=utf-8");
  } else if (ex.cdn) {
    set_body(ex,
             fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code>"
                         "<Message>{}</Message></Error>",
                         code.empty() ? "Error" : code, message),
             "application/xml");
  } else {
    set_body(ex, Json{{"error", message}}.dump(), "application/json; charset=utf-8");
  }
}

void MockHub::Impl::redirect(Exchange& ex, int status, const std::string& location) {
  ex.res.status = status;
  ex.res.set_header("Location", location);
  std::string body = fmt::format("{}. Redirecting to {}",
                                 status == 302 ? "Found" : "Temporary Redirect", location);
  set_body(ex, std::move(body), "text/plain; charset=utf-8");
}

// Answers with `size` bytes of `bytes` (zero-filled past its end): Range, If-None-Match and the
// body faults.
void MockHub::Impl::serve_bytes(Exchange& ex, std::shared_ptr<const std::string> bytes,
                                std::uint64_t size, const std::string& etag,
                                const std::string& content_type) {
  const Faults& f = ex.faults;
  httplib::Response& res = ex.res;
  if (!etag.empty() && !f.drop_etag) {
    res.set_header("ETag", quote_etag(etag));
  }
  res.set_header("Accept-Ranges", "bytes");
  if (if_none_match(ex.req, etag)) {
    res.status = 304;
    return;
  }
  std::string range_header = ex.req.get_header_value("Range");
  ByteRange range = parse_range(range_header, size);
  if (!range_header.empty() && f.gzip_on_range) {
    ex.fault = "gzip_on_range";
    res.status = 200;
    res.set_header("Content-Encoding", "gzip");
    if (ex.head) {
      return;
    }
    auto gz = std::make_shared<GzipStream>();
    res.set_chunked_content_provider(
        content_type, [this, gz, bytes, size](std::size_t, httplib::DataSink& sink) {
          if (!gz->ok || stopping()) {
            return false;
          }
          std::string in;
          std::uint64_t n = std::min<std::uint64_t>(size - gz->position, k_chunk);
          copy_bytes(*bytes, gz->position, static_cast<std::size_t>(n), in);
          gz->position += n;
          bool last = gz->position >= size;
          gz->z.next_in = reinterpret_cast<Bytef*>(in.data());
          gz->z.avail_in = static_cast<uInt>(in.size());
          std::string out(k_chunk, '\0');
          int rc = Z_OK;
          do {
            gz->z.next_out = reinterpret_cast<Bytef*>(out.data());
            gz->z.avail_out = static_cast<uInt>(out.size());
            rc = deflate(&gz->z, last ? Z_FINISH : Z_NO_FLUSH);
            std::size_t produced = out.size() - gz->z.avail_out;
            if (produced > 0 && !sink.write(out.data(), produced)) {
              return false;
            }
          } while (gz->z.avail_out == 0 || (last && rc != Z_STREAM_END && rc != Z_STREAM_ERROR));
          if (last) {
            sink.done();
          }
          return true;
        });
    return;
  }
  if (range.kind != RangeKind::none && f.ignore_range) {
    ex.fault = "ignore_range";
    range.kind = RangeKind::none;
  }
  std::uint64_t first = 0;
  std::uint64_t length = size;
  if (range.kind == RangeKind::unsatisfiable) {
    res.status = 416;
    res.set_header("Content-Range", fmt::format("bytes */{}", size));
    return;
  }
  if (range.kind == RangeKind::single) {
    res.status = 206;
    first = range.first;
    length = range.last - range.first + 1;
    std::uint64_t shift = f.wrong_content_range ? 1 : 0;
    if (shift != 0) {
      ex.fault = "wrong_content_range";
    }
    res.set_header("Content-Range",
                   fmt::format("bytes {}-{}/{}", first + shift, range.last + shift, size));
  } else {
    res.status = 200;
  }
  if (length == 0) {
    return;
  }
  if (f.close_mid_stream || f.chunked_bodies) {
    bool cut = f.close_mid_stream;
    if (cut && !ex.head) {
      ex.fault = "close_mid_stream";
    }
    std::uint64_t limit = cut ? std::max<std::uint64_t>(length / 2, 1) : length;
    auto sent = std::make_shared<std::uint64_t>(0);
    res.set_chunked_content_provider(content_type, [this, bytes, first, limit, length, cut, sent](
                                                       std::size_t, httplib::DataSink& sink) {
      if (stopping()) {
        return false;
      }
      if (*sent >= limit) {
        if (cut || limit < length) {
          return false;
        }
        sink.done();
        return true;
      }
      std::uint64_t n = std::min<std::uint64_t>(limit - *sent, k_chunk);
      if (!write_slice(*bytes, first + *sent, n, sink)) {
        return false;
      }
      *sent += n;
      if (*sent >= length) {
        sink.done();
      }
      return true;
    });
    return;
  }
  std::uint64_t limit = length;
  std::chrono::milliseconds stall_then_close{0};
  if (f.truncate_body) {
    ex.fault = ex.head ? "" : "truncate_body";
    limit = length / 2;
  } else if (ex.stall_mid_stream) {
    ex.fault = ex.head ? "" : "stall_mid_stream";
    limit = length / 2;
    stall_then_close = std::max(f.random_stall, std::chrono::milliseconds(1));
  }
  res.set_content_provider(static_cast<std::size_t>(length), content_type,
                           [this, bytes, first, limit, stall_then_close](
                               std::size_t offset, std::size_t want, httplib::DataSink& sink) {
                             if (offset >= limit || stopping()) {
                               sleep_for(stall_then_close);
                               return false;
                             }
                             std::uint64_t n = std::min<std::uint64_t>(want, limit - offset);
                             return write_slice(*bytes, first + offset, n, sink);
                           });
}

std::string MockHub::Impl::signature(std::string_view key, std::string_view expires) const {
  return sha256_hex({k_signing_secret, "\n", key, "\n", expires});
}

std::string MockHub::Impl::cdn_url(const std::string& repo_id, const FileEntry& f,
                                   const Faults& faults) const {
  std::int64_t lifetime = faults.cdn_url_lifetime.count();
  std::int64_t expires = static_cast<std::int64_t>(std::time(nullptr)) +
                         (faults.cdn_expired_signatures ? -60 : lifetime);
  std::string expires_s = std::to_string(expires);
  std::string key = repo_object_id(repo_id) + "/" + f.sha256;
  std::string name =
      f.path.substr(f.path.rfind('/') == std::string::npos ? 0 : f.path.rfind('/') + 1);
  return fmt::format(
      "{}/xet-bridge/{}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={}&X-Amz-Signature={}"
      "&response-content-disposition={}&Expires={}",
      cdn_link_origin(), repo_object_id(repo_id), f.sha256, lifetime, signature(key, expires_s),
      url_encode(fmt::format("inline; filename*=UTF-8''{}; filename=\"{}\";", name, name), false),
      expires_s);
}

// ---------------------------------------------------------------------------------------------
// Hub endpoints

void MockHub::Impl::resolve(Exchange& ex, const RepoPtr& repo, const std::string& rev,
                            const std::string& path) {
  const Faults& f = ex.faults;
  httplib::Response& res = ex.res;
  std::string commit = resolve_rev(*repo, rev, f);
  if (commit.empty()) {
    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    return;
  }
  if (!f.drop_repo_commit) {
    res.set_header("X-Repo-Commit", commit);
  }
  if (f.redirect_loop) {
    ex.fault = "redirect_loop";
    redirect(ex, 307, "/mock/loop/a");
    return;
  }
  if (f.redirect_hops > 0 && !ex.req.has_param("mock_hops_done")) {
    ex.fault = "redirect_hops";
    std::string to = ex.req.target + (ex.raw_query.empty() ? "?" : "&") + "mock_hops_done=1";
    redirect(ex, 307,
             fmt::format("/mock/hop/1/{}/{}", f.redirect_hops,
                         hex(reinterpret_cast<const unsigned char*>(to.data()), to.size())));
    return;
  }
  auto it = repo->files.find(path);
  if (it == repo->files.end()) {
    error(ex, 404, "EntryNotFound", fmt::format("{} does not exist on \"{}\"", path, commit));
    return;
  }
  const FileEntry& file = it->second;
  std::string etag = file.lfs ? file.sha256 : file.git_oid;
  if (if_none_match(ex.req, etag)) {
    if (!f.drop_etag) {
      res.set_header("ETag", quote_etag(etag));
    }
    res.status = 304;
    return;
  }
  if (file.lfs) {
    if (!f.drop_etag) {
      res.set_header("ETag", quote_etag(file.sha256));
      res.set_header("X-Linked-Etag", quote_etag(file.sha256));
    }
    if (!f.drop_linked_size) {
      res.set_header("X-Linked-Size", std::to_string(file.size));
    }
    if (f.xet_headers) {
      std::string xet_hash = sha256_hex({"xet:", file.sha256});
      res.set_header("X-Xet-Hash", xet_hash);
      res.set_header("Link",
                     fmt::format("<{0}/api/{1}/{2}/xet-read-token/{3}>; rel=\"xet-auth\", "
                                 "<{4}/v1/reconstructions/{5}>; rel=\"xet-reconstruction-info\"",
                                 endpoint(), type_plural(repo->spec.type), repo->spec.id, commit,
                                 cdn_link_origin(), xet_hash));
    }
    std::string location = cdn_url(repo->spec.id, file, f);
    redirect(ex, 302, location);
    return;
  }
  if (f.relative_307_for_small_files) {
    if (!f.drop_etag) {
      res.set_header("ETag", quote_etag(file.git_oid));
    }
    redirect(
        ex, 307,
        fmt::format("/api/resolve-cache/{}/{}/{}/{}?etag=%22{}%22", type_plural(repo->spec.type),
                    repo->spec.id, commit, url_encode(path, true), file.git_oid));
    return;
  }
  serve_bytes(ex, file.bytes, file.size, file.git_oid, "text/plain; charset=utf-8");
}

void MockHub::Impl::raw(Exchange& ex, const RepoPtr& repo, const std::string& rev,
                        const std::string& path) {
  std::string commit = resolve_rev(*repo, rev, ex.faults);
  if (commit.empty()) {
    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    return;
  }
  if (!ex.faults.drop_repo_commit) {
    ex.res.set_header("X-Repo-Commit", commit);
  }
  auto it = repo->files.find(path);
  if (it == repo->files.end()) {
    error(ex, 404, "EntryNotFound", fmt::format("{} does not exist on \"{}\"", path, commit));
    return;
  }
  const FileEntry& f = it->second;
  if (f.lfs) {
    auto pointer = std::make_shared<const std::string>(f.pointer);
    serve_bytes(ex, pointer, pointer->size(), f.git_oid, "text/plain; charset=utf-8");
  } else {
    serve_bytes(ex, f.bytes, f.size, f.git_oid, "text/plain; charset=utf-8");
  }
}

void MockHub::Impl::model_info(Exchange& ex, const RepoPtr& repo, const std::string& rev) {
  const RepoSpec& spec = repo->spec;
  std::string commit = resolve_rev(*repo, rev, ex.faults);
  if (commit.empty()) {
    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    return;
  }
  bool blobs = ex.req.get_param_value("blobs") == "true";
  Json siblings = Json::array();
  std::uint64_t used = 0;
  for (const auto& [path, f] : repo->files) {
    Json s = {{"rfilename", path}};
    if (blobs) {
      s["size"] = f.size;
      s["blobId"] = f.git_oid;
      if (f.lfs) {
        s["lfs"] = {{"sha256", f.sha256}, {"size", f.size}, {"pointerSize", f.pointer.size()}};
      }
    }
    used += f.size;
    siblings.push_back(std::move(s));
  }
  Json info = {{"_id", repo_object_id(spec.id)},
               {"id", spec.id},
               {"author", spec.id.substr(0, spec.id.find('/'))},
               {"sha", commit},
               {"lastModified", "2024-01-01T00:00:00.000Z"},
               {"private", spec.access == RepoSpec::Access::private_},
               {"disabled", false},
               {"tags", Json::array()},
               {"siblings", std::move(siblings)},
               {"usedStorage", used}};
  info["gated"] = spec.access == RepoSpec::Access::gated ? Json("manual") : Json(false);
  if (spec.type == RepoSpec::Type::model) {
    info["modelId"] = spec.id;
    info["library_name"] = "transformers";
    if (auto it = repo->files.find("config.json"); it != repo->files.end()) {
      // Published configs may hold bare NaN/Infinity, which JSON parsers reject: no "config".
      Json config = Json::parse(*it->second.bytes, nullptr, false);
      if (config.is_object()) {
        Json brief = Json::object();
        for (const char* key : {"architectures", "model_type"}) {
          if (config.contains(key)) {
            brief[key] = config[key];
          }
        }
        info["config"] = std::move(brief);
      }
    }
    if (repo->has_safetensors) {
      info["safetensors"] = {{"parameters", repo->params}, {"total", repo->total_params}};
    }
  }
  // expand= asks for a subset of the fields (id and _id always come).
  if (ex.req.has_param("expand")) {
    Json subset = {{"_id", info["_id"]}, {"id", info["id"]}};
    for (std::size_t i = 0; i < ex.req.get_param_value_count("expand"); ++i) {
      std::string key = ex.req.get_param_value("expand", i);
      if (info.contains(key)) {
        subset[key] = info[key];
      }
    }
    info = std::move(subset);
  }
  set_body(ex, info.dump(), "application/json; charset=utf-8");
  ex.res.status = 200;
}

void MockHub::Impl::tree(Exchange& ex, const RepoPtr& repo, const std::string& rev,
                         const std::string& path_in) {
  std::string commit = resolve_rev(*repo, rev, ex.faults);
  if (commit.empty()) {
    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    return;
  }
  std::string path = path_in;
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  bool recursive = ex.req.get_param_value("recursive") == "true" ||
                   ex.req.get_param_value("recursive") == "1" ||
                   ex.req.get_param_value("recursive") == "True";
  std::string prefix = path.empty() ? "" : path + "/";
  std::map<std::string, Json> entries;  // path -> entry, sorted
  bool any = false;
  for (const auto& [file_path, f] : repo->files) {
    if (!file_path.starts_with(prefix)) {
      continue;
    }
    any = true;
    std::string rest = file_path.substr(prefix.size());
    std::vector<std::string> parts = split(rest, '/');
    std::size_t dirs = recursive ? parts.size() - 1 : std::min<std::size_t>(parts.size() - 1, 1);
    std::string dir = prefix;
    for (std::size_t i = 0; i < dirs; ++i) {
      dir += parts[i];
      entries.emplace(
          dir, Json{{"type", "directory"}, {"oid", sha1_hex({"tree:", dir})}, {"path", dir}});
      dir += "/";
    }
    if (!recursive && parts.size() > 1) {
      continue;
    }
    Json e = {{"type", "file"}, {"oid", f.git_oid}, {"size", f.size}, {"path", file_path}};
    if (f.lfs) {
      e["lfs"] = {{"oid", f.sha256}, {"size", f.size}, {"pointerSize", f.pointer.size()}};
      e["xetHash"] = sha256_hex({"xet:", f.sha256});
    }
    entries.emplace(file_path, std::move(e));
  }
  if (!any && !path.empty()) {
    error(ex, 404, "EntryNotFound", fmt::format("{} does not exist on \"{}\"", path, commit));
    return;
  }
  std::size_t page = std::max<std::size_t>(ex.faults.tree_page_size, 1);
  std::size_t cursor = 0;
  if (ex.req.has_param("cursor")) {
    cursor = static_cast<std::size_t>(
        std::strtoull(ex.req.get_param_value("cursor").c_str(), nullptr, 10));
  }
  Json out = Json::array();
  std::size_t index = 0;
  for (auto& [p, e] : entries) {
    if (index >= cursor && index < cursor + page) {
      out.push_back(std::move(e));
    }
    ++index;
  }
  if (cursor + page < entries.size()) {
    std::string query;
    for (const std::string& item : split(ex.raw_query, '&')) {
      if (!item.empty() && !item.starts_with("cursor=")) {
        query += item + "&";
      }
    }
    ex.res.set_header("Link", fmt::format("<{}{}?{}cursor={}>; rel=\"next\"", endpoint(),
                                          ex.raw_path, query, cursor + page));
  }
  if (!ex.faults.drop_repo_commit) {
    ex.res.set_header("X-Repo-Commit", commit);
  }
  set_body(ex, out.dump(), "application/json; charset=utf-8");
  ex.res.status = 200;
}

void MockHub::Impl::refs(Exchange& ex, const RepoPtr& repo) {
  const RepoSpec& spec = repo->spec;
  Json out = {{"branches", Json::array()}, {"tags", Json::array()}, {"converts", Json::array()}};
  for (const auto& [name, commit] : spec.branches) {
    out["branches"].push_back(
        {{"name", name}, {"ref", "refs/heads/" + name}, {"targetCommit", commit}});
  }
  for (const auto& [name, commit] : spec.tags) {
    out["tags"].push_back({{"name", name}, {"ref", "refs/tags/" + name}, {"targetCommit", commit}});
  }
  if (ex.req.has_param("include_prs")) {
    out["pullRequests"] = Json::array();
    for (const auto& [n, commit] : spec.prs) {
      out["pullRequests"].push_back({{"name", fmt::format("refs/pr/{}", n)},
                                     {"ref", fmt::format("refs/pr/{}", n)},
                                     {"targetCommit", commit}});
    }
  }
  set_body(ex, out.dump(), "application/json; charset=utf-8");
  ex.res.status = 200;
}

// ---------------------------------------------------------------------------------------------
// CDN

void MockHub::Impl::route_cdn(Exchange& ex) {
  const auto& s = ex.segments;
  // /xet-bridge/{repo _id}/{sha256}
  if (s.size() != 3 || s[0] != "xet-bridge") {
    error(ex, 404, "NoSuchKey", "The specified key does not exist.");
    return;
  }
  const std::string key = s[1] + "/" + s[2];
  std::pair<RepoPtr, std::string> blob;
  {
    std::shared_lock lock(m_repos_mutex);
    auto it = m_blobs.find(key);
    if (it == m_blobs.end()) {
      lock.unlock();
      error(ex, 404, "NoSuchKey", "The specified key does not exist.");
      return;
    }
    blob = it->second;
  }
  std::string expires = ex.req.get_param_value("Expires");
  if (ex.req.get_param_value("X-Amz-Signature") != signature(key, expires)) {
    error(ex, 403, "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided.");
    return;
  }
  char* end = nullptr;
  long long when = std::strtoll(expires.c_str(), &end, 10);
  if (end == expires.c_str() || when < static_cast<long long>(std::time(nullptr))) {
    error(ex, 403, "AccessDenied", "Request has expired");
    return;
  }
  if (ex.head && ex.faults.cdn_403_on_head) {
    error(ex, 403, "AccessDenied", "HEAD is not allowed on a signed GET URL");
    return;
  }
  const FileEntry& f = blob.first->files.at(blob.second);
  serve_bytes(ex, f.bytes, f.size, f.sha256, "application/octet-stream");
}

// ---------------------------------------------------------------------------------------------
// MockHub

MockHub::MockHub() : MockHub(MockHubOptions{}) {}
MockHub::MockHub(MockHubOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}
MockHub::~MockHub() = default;

void MockHub::add_repo(RepoSpec spec) {
  m_impl->add_repo(std::move(spec));
}
void MockHub::add_copy(const std::string& id, const std::string& copy_id) {
  m_impl->add_copy(id, copy_id);
}
std::string MockHub::endpoint() const {
  return m_impl->endpoint();
}
std::string MockHub::cdn_origin() const {
  return m_impl->cdn_origin();
}
std::string MockHub::commit_of(std::string_view id, std::string_view rev) const {
  return m_impl->commit_of(id, rev);
}
std::optional<std::uint64_t> MockHub::served_size(std::string_view id,
                                                  std::string_view path) const {
  return m_impl->served_size(id, path);
}
Faults MockHub::faults() const {
  return m_impl->faults();
}
void MockHub::set_faults(Faults faults) {
  m_impl->update_faults([&](Faults& f) { f = std::move(faults); });
}
void MockHub::update_faults(const std::function<void(Faults&)>& edit) {
  m_impl->update_faults(edit);
}
std::vector<RequestRecord> MockHub::requests() const {
  return m_impl->requests();
}
void MockHub::clear_requests() {
  m_impl->clear_requests();
}
std::size_t MockHub::request_count() const {
  return m_impl->request_count();
}
ConnectionStats MockHub::connection_stats(bool cdn) const {
  return m_impl->connection_stats(cdn);
}
void MockHub::reset_connection_stats() {
  m_impl->reset_connection_stats();
}

}  // namespace mbuild::test
