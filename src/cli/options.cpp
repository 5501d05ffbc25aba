#include "cli/options.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/hub_module.hpp"
#include "mbuild/source/local_source.hpp"

namespace mbuild::cli {
namespace fs = std::filesystem;

namespace {

Environment g_environment;

// A model in the HF cache: a folder read like any other, reported with its repo and commit.
class HfCacheSource final : public ModelSource {
 public:
  HfCacheSource(fs::path folder, std::string id, std::string revision, std::string commit,
                std::string gguf_select)
      : m_folder(std::move(folder), id, std::move(gguf_select)),
        m_id(std::move(id)),
        m_revision(std::move(revision)),
        m_commit(std::move(commit)) {}
  Result<Snapshot> snapshot() override {
    auto snap = m_folder.snapshot();
    if (snap) {
      snap->ref.id = m_id;
      snap->ref.revision = m_revision.empty() ? "main" : m_revision;
      snap->ref.commit = m_commit;
      snap->ref.source = "hf-cache";
    }
    return snap;
  }

 private:
  LocalFolderSource m_folder;
  std::string m_id, m_revision, m_commit;
};

std::string getenv_str(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_true(const char* name) {
  std::string v = getenv_str(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "1" || v == "on" || v == "yes" || v == "true";
}

std::string strip_token(std::string token) {
  token.erase(
      std::remove_if(token.begin(), token.end(), [](char c) { return c == '\r' || c == '\n'; }),
      token.end());
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) {
    ++start;
  }
  return token.substr(start);
}

// One part of a Hub id, as the Hub allows it (huggingface_hub's validate_repo_id): 1 to 96 of
// [A-Za-z0-9._-], starting and ending with [A-Za-z0-9_], no "--" and no "..".
bool is_hub_id_part(std::string_view part) {
  auto word = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (part.empty() || part.size() > 96 || !word(part.front()) || !word(part.back())) {
    return false;
  }
  for (char c : part) {
    if (!word(c) && c != '.' && c != '-') {
      return false;
    }
  }
  return part.find("--") == std::string_view::npos && part.find("..") == std::string_view::npos;
}

// org/name: exactly two parts. "--" is refused as the Hub refuses it: the cache folder
// models--org--name would not tell "a--b/c" from "a/b--c".
bool is_hub_id(std::string_view id) {
  const auto slash = id.find('/');
  return slash != std::string_view::npos && is_hub_id_part(id.substr(0, slash)) &&
         is_hub_id_part(id.substr(slash + 1)) && !id.ends_with(".git");
}

// A revision is a branch, a tag, a commit or refs/pr/N, so it follows git's ref-name rules
// (git check-ref-format): no control characters, space, ~ ^ : ? * [ \ or "@{", no "..", no
// empty component, no component starting with '.' or ending with ".lock", no trailing '.'.
// It also names a file under the cache's refs/ folder, which these rules keep inside it.
bool is_revision(std::string_view rev) {
  if (rev.empty() || rev.size() > 255 || rev == "@" || rev.ends_with(".") ||
      rev.find("..") != std::string_view::npos || rev.find("@{") != std::string_view::npos) {
    return false;
  }
  for (char c : rev) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || std::string_view(" ~^:?*[\\").find(c) != std::string_view::npos) {
      return false;
    }
  }
  size_t start = 0;
  for (;;) {
    const size_t slash = rev.find('/', start);
    const std::string_view part = rev.substr(start, slash - start);
    if (part.empty() || part.front() == '.' || part.ends_with(".lock")) {
      return false;
    }
    if (slash == std::string_view::npos) {
      return true;
    }
    start = slash + 1;
  }
}

}  // namespace

Environment Environment::from_process() {
  Environment env;
  if (std::string e = getenv_str("HF_ENDPOINT"); !e.empty()) {
    while (e.size() > 1 && e.back() == '/') {
      e.pop_back();
    }
    env.endpoint = e;
  }
  std::string home = getenv_str("HOME");
  if (std::string h = getenv_str("HF_HOME"); !h.empty()) {
    env.hf_home = h;
  } else if (std::string x = getenv_str("XDG_CACHE_HOME"); !x.empty()) {
    env.hf_home = fs::path(x) / "huggingface";
  } else {
    env.hf_home = fs::path(home) / ".cache" / "huggingface";
  }
  if (std::string c = getenv_str("HF_HUB_CACHE"); !c.empty()) {
    env.hub_cache = c;
  } else if (std::string legacy = getenv_str("HUGGINGFACE_HUB_CACHE"); !legacy.empty()) {
    env.hub_cache = legacy;
  } else {
    env.hub_cache = env.hf_home / "hub";
  }
  // Token order as huggingface_hub: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file.
  // An empty variable counts as unset (huggingface_hub's _clean_token does the same).
  env.token = strip_token(getenv_str("HF_TOKEN"));
  if (env.token.empty()) {
    env.token = strip_token(getenv_str("HUGGING_FACE_HUB_TOKEN"));
  }
  if (env.token.empty()) {
    fs::path token_path = getenv_str("HF_TOKEN_PATH");
    if (token_path.empty()) {
      token_path = env.hf_home / "token";
    }
    if (auto text = read_small_file(token_path, uint64_t{64} * 1024)) {
      env.token = strip_token(std::string(text->view()));
    }
  }
  if (std::string m = getenv_str("MBUILD_CACHE"); !m.empty()) {
    env.mbuild_cache = m;
  } else if (std::string x = getenv_str("XDG_CACHE_HOME"); !x.empty()) {
    env.mbuild_cache = fs::path(x) / "mbuild";
  } else if (!home.empty()) {
    env.mbuild_cache = fs::path(home) / ".cache" / "mbuild";
  }
  env.offline = env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
  env.no_color = !getenv_str("NO_COLOR").empty();
  // curl's own tool reads CURL_CA_BUNDLE, then SSL_CERT_FILE/SSL_CERT_DIR; Python's requests
  // (huggingface_hub) reads REQUESTS_CA_BUNDLE: whichever a user already set is honoured.
  for (const char* var : {"CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"}) {
    if (std::string f = getenv_str(var); !f.empty()) {
      env.ca_file = f;
      env.ca_file_var = var;
      break;
    }
  }
  env.ca_path = getenv_str("SSL_CERT_DIR");
  if (std::string t = getenv_str("HF_HUB_DOWNLOAD_TIMEOUT"); !t.empty()) {
    char* end = nullptr;
    long v = std::strtol(t.c_str(), &end, 10);
    if (end && *end == '\0' && v > 0) {
      env.download_timeout = v;
    }
  }
  return env;
}

unsigned raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1 << 20);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
}

const Environment& environment() {
  return g_environment;
}
void set_environment(Environment env) {
  g_environment = std::move(env);
}

void add_common_options(CLI::App& app, CommonOptions& o) {
  app.add_option("--revision", o.revision, "Branch, tag, full commit sha or refs/pr/N");
  app.add_option("--endpoint", o.endpoint,
                 "Hub endpoint URL (default $HF_ENDPOINT or https://huggingface.co)");
  app.add_option("--token", o.token,
                 "Hub token (default $HF_TOKEN, $HF_TOKEN_PATH, $HF_HOME/token)");
  app.add_flag("--offline", o.offline,
               "No network: local folders, the HF cache and mbuild's cache only");
  app.add_option("--format", o.format,
                 "Output format (jsonl: one object per source as it completes, then a summary)")
      ->check(CLI::IsMember({"text", "json", "jsonl", "md", "variant"}));
  app.add_option("--from", o.from, "Read more sources from FILE, one per line ('-': stdin)");
  app.add_flag("--ordered", o.ordered, "Print results in input order, not as they complete");
  app.add_option("--jobs,-j", o.jobs, "Sources / requests in flight at once")
      ->check(CLI::Range(1U, 256U));
  app.add_option("--max-connections", o.max_connections,
                 "Open connections per host at most (HTTP/2 multiplexes on one)")
      ->check(CLI::Range(1U, 256U));
  app.add_flag("--verbose,-v", o.verbose, "Also print what each remote read cost on the wire");
  app.add_flag("--quiet,-q", o.quiet, "Print nothing but the result and errors");
  app.add_flag("--no-progress", o.no_progress, "No progress display on stderr");
  app.add_option("--color", o.color, "Colour output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--file", o.gguf_file,
                 "One GGUF quantization of several: a file name, a variant or a tag (Q4_K_M)");
}

Result<std::unique_ptr<ModelSource>> open_source(const std::string& spec,
                                                 const CommonOptions& options,
                                                 const Environment& env, ProgressLine* progress) {
  std::error_code ec;
  const fs::path path(spec);
  if (fs::is_directory(path, ec)) {
    return std::make_unique<LocalFolderSource>(path, std::string(), options.gguf_file);
  }
  // "folder:Q4_K_M" picks one GGUF quantization, as "org/name:Q4_K_M" does on the Hub.
  if (auto colon = spec.rfind(':'); colon != std::string::npos && colon > 0) {
    const fs::path folder(spec.substr(0, colon));
    if (fs::is_directory(folder, ec)) {
      if (!options.gguf_file.empty()) {
        return fail(ErrorKind::usage, excerpt(spec, 200),
                    "names a quantization and so does --file");
      }
      return std::make_unique<LocalFolderSource>(folder, std::string(), spec.substr(colon + 1));
    }
  }
  if (fs::is_regular_file(path, ec)) {
    return std::make_unique<LocalFileSource>(path);
  }
  std::string id = spec;
  std::string revision = options.revision;
  // "hf.co/org/name", as llama.cpp, Ollama and LM Studio write Hub ids.
  for (std::string_view host : {"hf.co/", "huggingface.co/"}) {
    if (id.starts_with(host)) {
      id.erase(0, host.size());
      break;
    }
  }
  // "org/name:Q4_K_M" picks one GGUF quantization; neither ids nor revisions hold a ':', so the
  // tag runs from it to an '@' or the end ("org/name:Q4_K_M@rev" and "org/name@rev:Q4_K_M").
  std::string gguf_select = options.gguf_file;
  if (auto colon = id.find(':'); colon != std::string::npos) {
    const size_t end = std::min(id.find('@', colon), id.size());
    const std::string tag = id.substr(colon + 1, end - colon - 1);
    if (tag.empty()) {
      return fail(ErrorKind::usage, excerpt(spec, 200), "empty quantization tag after ':'");
    }
    if (!options.gguf_file.empty()) {
      return fail(ErrorKind::usage, excerpt(spec, 200), "names a quantization and so does --file");
    }
    gguf_select = tag;
    id.erase(colon, end - colon);
  }
  if (auto at = id.find('@'); at != std::string::npos) {
    revision = id.substr(at + 1);
    id.erase(at);
    if (revision.empty()) {
      return fail(ErrorKind::usage, excerpt(spec, 200), "empty revision after '@'");
    }
  }
  if (!is_hub_id(id)) {
    if (spec.ends_with(".safetensors") || spec.ends_with(".gguf") || spec.find('/') == 0 ||
        spec.starts_with(".")) {
      return fail(ErrorKind::not_found, excerpt(spec, 200), "no such file or folder");
    }
    return fail(ErrorKind::usage, excerpt(spec, 200),
                "not a folder, a .safetensors or .gguf file or a Hub id of the form "
                "org/name[@revision][:TAG]");
  }
  if (!revision.empty() && !is_revision(revision)) {
    return fail(ErrorKind::usage, excerpt(revision, 200),
                "not a revision: a branch, a tag, a commit sha or refs/pr/N");
  }
  const bool offline = options.offline || env.offline;
  auto module = hub_module();
  if (offline) {
    // mbuild's own cache first (it holds exactly what is needed), then the HF cache. Without
    // the Hub module, which reads mbuild's cache, the HF cache still answers.
    if (module) {
      if (auto cached = (*module)->open_cached(env.mbuild_cache, id,
                                               revision.empty() ? "main" : revision, gguf_select)) {
        return cached;
      }
    }
    std::string commit;
    auto folder = resolve_hf_cache(env.hub_cache, id, revision, commit);
    if (!folder) {
      return tl::unexpected(folder.error());
    }
    return std::make_unique<HfCacheSource>(*folder, id, revision, commit, gguf_select);
  }
  hub::HubOptions o;
  o.endpoint = options.endpoint.empty() ? env.endpoint : options.endpoint;
  while (o.endpoint.size() > 1 && o.endpoint.back() == '/') {
    o.endpoint.pop_back();
  }
  o.token = options.token.empty() ? env.token : options.token;
  // A control character (a line break above all) would let the token add a header of its own to
  // every request. Name where the token came from, never the token.
  if (std::any_of(o.token.begin(), o.token.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return fail(ErrorKind::usage, options.token.empty() ? "the token" : "--token",
                "contains a control character (a line break or tab?)");
  }
  o.cache_dir = env.mbuild_cache;
  o.gguf_select = gguf_select;
  o.max_in_flight = options.jobs;
  o.max_connections = options.max_connections;
  o.timeout = std::chrono::seconds(env.download_timeout);
  if (!env.ca_file.empty() && !fs::is_regular_file(env.ca_file, ec)) {
    return fail(ErrorKind::usage, env.ca_file_var,
                fmt::format("'{}' is not a CA bundle file", excerpt(env.ca_file, 200)));
  }
  if (!env.ca_path.empty() && !fs::is_directory(env.ca_path, ec)) {
    return fail(ErrorKind::usage, "SSL_CERT_DIR",
                fmt::format("'{}' is not a folder", excerpt(env.ca_path, 200)));
  }
  o.ca_file = env.ca_file;
  o.ca_path = env.ca_path;
  o.fd_limit = env.fd_limit;
  if (progress) {
    o.progress = [progress, id](size_t done, size_t total, uint64_t bytes) {
      progress->update(id, done, total, bytes);
    };
  }
  if (!module) {
    return tl::unexpected(module.error());
  }
  return (*module)->open(id, revision, std::move(o));
}

ProgressLine::ProgressLine(size_t sources) : m_sources(sources) {}

ProgressLine::~ProgressLine() {
  std::lock_guard lock(m_mutex);
  if (m_drawn) {
    std::fputs("\r\x1b[K", stderr);  // the result is printed where the line was
  }
}

void ProgressLine::update(const std::string& id, size_t done, size_t total, uint64_t bytes) {
  std::lock_guard lock(m_mutex);
  m_files[id] = {done, total, bytes};
  draw(false);
}

void ProgressLine::source_done() {
  std::lock_guard lock(m_mutex);
  ++m_sources_done;
  draw(true);
}

void ProgressLine::draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && m_drawn && now - m_last_draw < std::chrono::milliseconds(100)) {
    return;
  }
  size_t done = 0, total = 0;
  uint64_t bytes = 0;
  for (const auto& [id, f] : m_files) {
    done += f.done;
    total += f.total;
    bytes += f.bytes;
  }
  std::string line =
      m_sources > 1 ? fmt::format("{}/{} sources, ", m_sources_done, m_sources) : std::string();
  line += fmt::format("{}/{} files, {:.1f} KiB", done, total, static_cast<double>(bytes) / 1024);
  std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
  std::fflush(stderr);
  m_drawn = true;
  m_last_draw = now;
}

Result<std::vector<std::string>> gather_sources(const std::vector<std::string>& args,
                                                const CommonOptions& options) {
  std::vector<std::string> all = args;
  if (!options.from.empty()) {
    std::string text;
    if (options.from == "-") {
      char buf[65536];
      size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
        text.append(buf, n);
      }
    } else {
      auto bytes = read_small_file(options.from, uint64_t{256} << 20);
      if (!bytes) {
        return tl::unexpected(
            Error{ErrorKind::usage, "--from " + excerpt(options.from, 200), "cannot read it"});
      }
      text = std::string(bytes->view());
    }
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) {
        end = text.size();
      }
      std::string_view line(text.data() + start, end - start);
      start = end + 1;
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
        line.remove_suffix(1);
      }
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
        line.remove_prefix(1);
      }
      if (!line.empty() && line.front() != '#') {
        all.emplace_back(line);
      }
    }
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (std::string& s : all) {
    if (seen.insert(s).second) {
      out.push_back(std::move(s));
    }
  }
  if (out.empty()) {
    return tl::unexpected(Error{ErrorKind::usage, "sources", "none given (arguments or --from)"});
  }
  return out;
}

void for_each_model(const std::vector<std::string>& specs, const CommonOptions& options,
                    const Environment& env, bool ordered,
                    const std::function<void(SourceResult&)>& on_result) {
  std::atomic<size_t> next{0};
  // One line for every source together, redrawn in place; only on a terminal.
  std::optional<ProgressLine> progress;
  if (!options.quiet && !options.no_progress && ::isatty(2)) {
    progress.emplace(specs.size());
  }
  std::mutex deliver_mutex;
  std::map<size_t, SourceResult> waiting;  // ordered: done, but an earlier one is not
  size_t next_to_deliver = 0;
  auto deliver = [&](SourceResult r) {
    std::lock_guard lock(deliver_mutex);
    if (options.verbose) {
      if (const auto& t = r.transfer) {
        std::fprintf(
            stderr,
            "mbuild: %s: %llu requests on %llu new connections (%s), %llu retries, %.1f KiB; "
            "%llu weight files, %.2f header reads per file\n",
            r.spec->c_str(), static_cast<unsigned long long>(t->requests),
            static_cast<unsigned long long>(t->connections),
            t->http2 == t->requests && t->requests > 0 ? "HTTP/2"
            : t->http2 > 0                             ? "HTTP/2 and HTTP/1.1"
                                                       : "HTTP/1.1",
            static_cast<unsigned long long>(t->retries), static_cast<double>(t->bytes) / 1024,
            static_cast<unsigned long long>(t->header_files),
            t->header_files
                ? static_cast<double>(t->header_reads) / static_cast<double>(t->header_files)
                : 0.0);
      }
    }
    if (!ordered) {
      on_result(r);
      return;
    }
    waiting.emplace(r.index, std::move(r));
    for (auto it = waiting.begin(); it != waiting.end() && it->first == next_to_deliver;
         it = waiting.erase(it), ++next_to_deliver) {
      on_result(it->second);
    }
  };
  auto worker = [&] {
    for (size_t i = next++; i < specs.size(); i = next++) {
      SourceResult r;
      r.index = i;
      r.spec = &specs[i];
      const auto start = std::chrono::steady_clock::now();
      auto source = open_source(specs[i], options, env, progress ? &*progress : nullptr);
      if (!source) {
        r.model = tl::unexpected(source.error());
      } else {
        auto snapshot = (*source)->snapshot();
        if (progress) {
          progress->source_done();
        }
        if (!snapshot) {
          r.model = tl::unexpected(snapshot.error());
        } else {
          r.transfer = snapshot->transfer;
          r.requests = snapshot->transfer ? snapshot->transfer->requests : 0;
          r.model = build_model(std::move(*snapshot));
        }
      }
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      deliver(std::move(r));
    }
  };
  // Sources read side by side, up to --jobs and k_sources_in_flight; their requests share the
  // process's connection pool, which bounds what reaches each host.
  const size_t threads =
      std::min({specs.size(), static_cast<size_t>(options.jobs), k_sources_in_flight});
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  worker();
  for (auto& t : pool) {
    t.join();
  }
}

std::vector<Result<Model>> load_models(const std::vector<std::string>& specs,
                                       const CommonOptions& options, const Environment& env) {
  std::vector<Result<Model>> out(specs.size(), tl::unexpected(Error{}));
  for_each_model(specs, options, env, false,
                 [&](SourceResult& r) { out[r.index] = std::move(r.model); });
  return out;
}

void BatchSummary::add(const SourceResult& r, int code) {
  ++m_sources;
  ++m_codes[code];
  m_worst = std::max(m_worst, code);
  m_requests += r.requests;
  m_slowest.emplace_back(r.seconds, *r.spec);
  std::sort(m_slowest.begin(), m_slowest.end(), std::greater<>());
  if (m_slowest.size() > 3) {
    m_slowest.pop_back();
  }
}

std::string BatchSummary::text(double seconds) const {
  std::string codes;
  for (const auto& [code, n] : m_codes) {
    codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", n,
                         code == 0 ? std::string("ok") : fmt::format("exit {}", code));
  }
  std::string slow;
  for (const auto& [secs, spec] : m_slowest) {
    slow += fmt::format("{}{} ({:.2f} s)", slow.empty() ? "" : ", ", spec, secs);
  }
  return fmt::format("mbuild: {} sources in {:.2f} s: {}; {} requests; slowest: {}\n", m_sources,
                     seconds, codes, m_requests, slow);
}

std::string BatchSummary::json_line(double seconds) const {
  nlohmann::json codes = nlohmann::json::object();
  for (const auto& [code, n] : m_codes) {
    codes[std::to_string(code)] = n;
  }
  nlohmann::json slowest = nlohmann::json::array();
  for (const auto& [secs, spec] : m_slowest) {
    slowest.push_back({{"source", spec}, {"seconds", secs}});
  }
  return nlohmann::json{{"summary",
                         {{"sources", m_sources},
                          {"seconds", seconds},
                          {"exit_codes", codes},
                          {"exit_code", m_worst},
                          {"requests", m_requests},
                          {"slowest", slowest}}}}
             .dump() +
         "\n";
}

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage:
      return 2;
    case ErrorKind::bad_input:
    case ErrorKind::io:  // an output that cannot be written
      return 3;
    case ErrorKind::not_found:
      return 4;
    case ErrorKind::access_denied:
      return 5;
    case ErrorKind::network:
      return 6;
    case ErrorKind::resource:
      return k_exit_out_of_memory;  // a resource of the machine ran out: memory or descriptors
  }
  return 3;
}

void print_error(const Error& error) {
  std::fprintf(stderr, "mbuild: error: %s\n", error.message().c_str());
}

}  // namespace mbuild::cli
