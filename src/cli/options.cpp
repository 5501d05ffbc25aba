#include "cli/options.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "cli/hub_module.hpp"
#include "mbuild/source/local_source.hpp"

namespace mbuild::cli {
namespace fs = std::filesystem;

namespace {

Environment g_environment;

// A model in the HF cache: a folder read like any other, reported with its repo and commit.
class HfCacheSource final : public ModelSource {
 public:
  HfCacheSource(fs::path folder, std::string id, std::string revision, std::string commit)
      : m_folder(std::move(folder), id),
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
  if (std::string t = getenv_str("HF_HUB_DOWNLOAD_TIMEOUT"); !t.empty()) {
    char* end = nullptr;
    long v = std::strtol(t.c_str(), &end, 10);
    if (end && *end == '\0' && v > 0) {
      env.download_timeout = v;
    }
  }
  return env;
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
  app.add_option("--format", o.format, "Output format")
      ->check(CLI::IsMember({"text", "json", "md", "variant"}));
  app.add_option("--jobs,-j", o.jobs, "Sources / requests in flight at once")
      ->check(CLI::Range(1U, 256U));
  app.add_flag("--quiet,-q", o.quiet, "Print nothing but the result and errors");
  app.add_flag("--no-progress", o.no_progress, "No progress display on stderr");
  app.add_option("--color", o.color, "Colour output")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

Result<std::unique_ptr<ModelSource>> open_source(const std::string& spec,
                                                 const CommonOptions& options,
                                                 const Environment& env) {
  std::error_code ec;
  const fs::path path(spec);
  if (fs::is_directory(path, ec)) {
    return std::make_unique<LocalFolderSource>(path);
  }
  if (fs::is_regular_file(path, ec)) {
    return std::make_unique<LocalFileSource>(path);
  }
  std::string id = spec;
  std::string revision = options.revision;
  if (auto at = spec.find('@'); at != std::string::npos) {
    id = spec.substr(0, at);
    revision = spec.substr(at + 1);
    if (revision.empty()) {
      return fail(ErrorKind::usage, excerpt(spec, 200), "empty revision after '@'");
    }
  }
  if (!is_hub_id(id)) {
    if (spec.ends_with(".safetensors") || spec.find('/') == 0 || spec.starts_with(".")) {
      return fail(ErrorKind::not_found, excerpt(spec, 200), "no such file or folder");
    }
    return fail(ErrorKind::usage, excerpt(spec, 200),
                "not a folder, a .safetensors file or a Hub id of the form org/name[@revision]");
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
      if (auto cached =
              (*module)->open_cached(env.mbuild_cache, id, revision.empty() ? "main" : revision)) {
        return cached;
      }
    }
    std::string commit;
    auto folder = resolve_hf_cache(env.hub_cache, id, revision, commit);
    if (!folder) {
      return tl::unexpected(folder.error());
    }
    return std::make_unique<HfCacheSource>(*folder, id, revision, commit);
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
  o.max_in_flight = options.jobs;
  o.timeout = std::chrono::seconds(env.download_timeout);
  if (!options.quiet && !options.no_progress && ::isatty(2)) {
    o.progress = [id](size_t done, size_t total, uint64_t bytes) {
      std::fprintf(stderr, "\r%s: %zu/%zu files, %.1f KiB%s", id.c_str(), done, total,
                   static_cast<double>(bytes) / 1024.0, done == total ? "\n" : "");
    };
  }
  if (!module) {
    return tl::unexpected(module.error());
  }
  return (*module)->open(id, revision, std::move(o));
}

std::vector<Result<Model>> load_models(const std::vector<std::string>& specs,
                                       const CommonOptions& options, const Environment& env) {
  std::vector<Result<Model>> out(specs.size(), tl::unexpected(Error{}));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < specs.size(); i = next++) {
      auto source = open_source(specs[i], options, env);
      if (!source) {
        out[i] = tl::unexpected(source.error());
        continue;
      }
      auto snapshot = (*source)->snapshot();
      if (!snapshot) {
        out[i] = tl::unexpected(snapshot.error());
        continue;
      }
      out[i] = build_model(std::move(*snapshot));
    }
  };
  // Sources read side by side; each Hub source has its own requests in flight.
  const size_t threads = std::min<size_t>({specs.size(), options.jobs, 16});
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  worker();
  for (auto& t : pool) {
    t.join();
  }
  return out;
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
  }
  return 3;
}

void print_error(const Error& error) {
  std::fprintf(stderr, "mbuild: error: %s\n", error.message().c_str());
}

}  // namespace mbuild::cli
