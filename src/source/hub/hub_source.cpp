#include "mbuild/source/hub/hub_source.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <regex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mbuild/snapshot/gguf.hpp"
#include "mbuild/snapshot/safetensors.hpp"
#include "mbuild/snapshot/shard_index.hpp"
#include "mbuild/source/local_source.hpp"
#include "mbuild/util/atomic_write.hpp"
#include "snapshot/weight_layout.hpp"
#include "source/hub/http.hpp"

namespace mbuild::hub {
namespace fs = std::filesystem;

namespace {

// The first Range read of a file with no index to size it from: 256 KiB covers the header of
// every single-file checkpoint seen (GPT-2: 15 KB, Llama-3.2-1B: 25 KB); a longer one takes one
// more read straight from the CDN URL.
constexpr uint64_t k_speculative_range = uint64_t{256} * 1024;
// A shard's header, sized from the index before it is read: each tensor's entry is its name plus
// at most ~110 bytes of dtype, shape and offsets (measured over the corpus: 70-106), and the
// __metadata__ object rarely passes a few KiB.
constexpr uint64_t k_header_bytes_per_tensor = 128;
constexpr uint64_t k_header_metadata_allowance = 16 * 1024;
constexpr int k_cache_version = 3;
// The first read of a GGUF file. Its header holds the tokenizer's vocabulary (and BPE merges) as
// metadata: 741,056 bytes for Llama-2 7B (32k tokens; huggingface.js's gguf tests), 7,836,512
// for Llama-3 8B (128k tokens, 280k merges; node-llama-cpp's parser snapshot), more than 8 MiB
// for GPT-OSS 20B (201k tokens, 446k merges: ~12-13 MB by the same bytes per entry). 8 MiB reads
// the common ones whole in one request; the larger ones take one more, of the rest
// gguf_header_span extrapolates from the array it stopped in.
constexpr uint64_t k_gguf_first_read = uint64_t{8} * 1024 * 1024;
// The parts after the first of a split set: gguf-split writes the metadata into the first part
// alone, so the others hold split.* keys and their tensor infos, a few KiB to tens of KiB.
constexpr uint64_t k_gguf_part_first_read = uint64_t{256} * 1024;

// "<size>:<FNV-1a 64 in hex>" of a cached file, kept in manifest.json: a file damaged after it
// was written (the cache is not fsynced) or by hand no longer matches, and the entry is a miss.
std::string fingerprint(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  }
  return fmt::format("{}:{:016x}", bytes.size(), h);
}

// One cache file, its folders created first; no fsync (a lost entry is only a miss).
Result<void> write_cache_file(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    return fail(ErrorKind::io, path.parent_path().string(), ec.message());
  }
  return write_file_atomic(path, bytes, Durability::cache);
}

// The cache folder of a snapshot: the commit, or "<commit>@<select>" for one GGUF quantization
// asked for (lower-cased, as the pick ignores case); nullopt when the select cannot name a
// folder (it is then not cached).
std::optional<std::string> snapshot_folder(const std::string& commit, std::string_view select) {
  if (select.empty()) {
    return commit;
  }
  std::string key = commit + "@";
  for (char c : select) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '-' && c != '.') {
      return std::nullopt;
    }
    key += static_cast<char>(std::tolower(u));
  }
  return select.size() <= 200 ? std::optional(key) : std::nullopt;
}

// A GGUF repo of several quantizations needs one picked, and a pick must match one: either
// fails as one line listing the tags to pick from. A split set must have all its parts.
Result<void> check_gguf_choice(const WeightLayout& layout, const std::string& repo,
                               const std::string& select) {
  if (!layout.gguf_files.empty()) {
    const auto split = gguf_split_name(layout.gguf_files.front());
    for (uint32_t part = 1; split && part <= split->count; ++part) {
      const std::string name =
          fmt::format("{}-{:05}-of-{:05}.gguf", split->stem, part, split->count);
      if (std::find(layout.gguf_files.begin(), layout.gguf_files.end(), name) ==
          layout.gguf_files.end()) {
        return fail(
            ErrorKind::not_found, repo + "/" + name,
            fmt::format("part {} of the {}-part GGUF set is not in the repo", part, split->count));
      }
    }
    return {};
  }
  std::vector<std::string> tags = gguf_tags(layout.gguf_variants);
  std::sort(tags.begin(), tags.end());
  if (!select.empty()) {
    return fail(ErrorKind::not_found, repo,
                fmt::format("no GGUF quantization matches '{}'", excerpt(select)),
                tags.empty() ? "the repo holds no GGUF files"
                             : fmt::format("available: {}", fmt::join(tags, ", ")));
  }
  if (tags.size() > 1) {
    return fail(ErrorKind::usage, repo,
                fmt::format("holds {} GGUF quantizations: {}", tags.size(), fmt::join(tags, ", ")),
                fmt::format("pick one as {}:{} or with --file", repo, tags.front()));
  }
  return {};
}

// The header reads of one GGUF file: a first read, then as many more as gguf_header_span says
// the header still needs, each from where the last ended, straight from the CDN URL the first
// was redirected to.
struct GgufRead {
  std::string path;
  std::deque<Fetch> reads;  // stable addresses: the queue holds pointers to them
  std::string head;         // the header's bytes so far
  uint64_t size = 0;
  std::string commit_seen;  // X-Repo-Commit of the Hub hop
  std::string cdn_url;      // where the first read ended up
  std::string hub_url;      // where to re-resolve it when a signature expires
  std::optional<Error> error;
};

std::string repo_folder(const std::string& repo) {
  std::string out = "models--" + repo;
  for (size_t pos = out.find('/'); pos != std::string::npos; pos = out.find('/', pos)) {
    out.replace(pos, 1, "--");
  }
  return out;
}

// The Hub's answer to a failed request, as the error a user can act on.
Error hub_error(const Fetch& f, const std::string& repo, const std::string& file, bool has_token,
                const std::string& revision) {
  const std::string what = file.empty() ? repo : repo + "/" + file;
  if (f.error) {
    // The transport names the URL that failed (a CDN's, a redirect's): say whose file it was.
    Error e = *f.error;
    if (!e.what.empty() && e.what != what) {
      e.why = fmt::format("{} at {}", e.why, e.what);
    }
    e.what = what;
    return e;
  }
  const std::string& code = f.error_code;
  const std::string detail = f.error_message.empty() ? "" : " (" + f.error_message + ")";
  if (code == "GatedRepo") {
    if (f.status == 403) {
      return Error(ErrorKind::access_denied, repo,
                   "gated repo: your token is not in the authorized list",
                   "ask for access on the model's page");
    }
    return Error(ErrorKind::access_denied, repo, "gated repo: authentication required",
                 "set HF_TOKEN or pass --token");
  }
  if (f.status == 401 && f.error_message.find("Invalid credentials") != std::string::npos) {
    return Error(ErrorKind::access_denied, repo, "the Hub rejected the token (invalid credentials)",
                 "check HF_TOKEN or --token");
  }
  if (code == "RevisionNotFound") {
    return Error(ErrorKind::not_found, repo, fmt::format("revision '{}' not found", revision));
  }
  if (code == "EntryNotFound") {
    return Error(ErrorKind::not_found, what, "file not found");
  }
  if (f.status == 401) {
    // The Hub answers 401 for missing and for private repos alike when no token is sent.
    return Error(ErrorKind::not_found, repo, "repository not found" + detail,
                 has_token ? "" : "if it is private or gated, set HF_TOKEN or pass --token");
  }
  if (f.status == 404) {
    return Error(ErrorKind::not_found, what,
                 code == "RepoNotFound" || file.empty() ? "repository not found" : "not found");
  }
  if (f.status == 403) {
    return Error(ErrorKind::access_denied, what, "access denied" + detail,
                 has_token ? "" : "set HF_TOKEN or pass --token");
  }
  return Error(ErrorKind::network, what, fmt::format("unexpected HTTP {}{}", f.status, detail));
}

}  // namespace

bool is_commit_sha(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::string> cached_commit(const fs::path& dir, const std::string& repo,
                                         const std::string& revision) {
  if (dir.empty()) {
    return std::nullopt;
  }
  if (is_commit_sha(revision)) {
    return revision;
  }
  if (check_shard_name("revision", revision).has_value() == false) {
    return std::nullopt;
  }
  auto ref = read_small_file(dir / repo_folder(repo) / "refs" / revision, 4096);
  if (!ref || !is_commit_sha(ref->view())) {
    return std::nullopt;
  }
  return std::string(ref->view());
}

std::optional<Snapshot> load_cached_snapshot(const fs::path& dir, const std::string& repo,
                                             const std::string& commit,
                                             std::string_view gguf_select) {
  const auto folder = snapshot_folder(commit, gguf_select);
  if (dir.empty() || !is_commit_sha(commit) || !folder) {
    return std::nullopt;
  }
  const fs::path root = dir / repo_folder(repo) / "snapshots" / *folder;
  auto manifest_text = read_small_file(root / "manifest.json", 64 << 20);
  if (!manifest_text) {
    return std::nullopt;
  }
  auto manifest = nlohmann::json::parse(manifest_text->view(), nullptr, false);
  if (!manifest.is_object() || manifest.value("version", 0) != k_cache_version) {
    return std::nullopt;
  }
  Snapshot snap;
  try {
    snap.ref.id = repo;
    snap.ref.commit = commit;
    snap.ref.source = "hub";
    snap.ref.location = manifest.value("endpoint", "");
    snap.display_prefix = repo + "/";
    if (manifest.value("config", false)) {
      auto c = read_small_file(root / "config.json", k_max_config_bytes);
      if (!c || manifest.value("config_fingerprint", "") != fingerprint(c->view())) {
        return std::nullopt;
      }
      snap.config_json = std::string(c->view());
    }
    if (auto idx = manifest.find("index"); idx != manifest.end() && idx->is_string()) {
      const std::string name = idx->get<std::string>();
      if (!check_shard_name("cache", name)) {
        return std::nullopt;
      }
      auto bytes = read_small_file(root / "index" / name, k_max_index_bytes);
      if (!bytes || manifest.value("index_fingerprint", "") != fingerprint(bytes->view())) {
        return std::nullopt;
      }
      auto index = parse_shard_index(name, std::move(*bytes));
      if (!index) {
        return std::nullopt;
      }
      snap.index = std::move(*index);
    }
    const auto& files = manifest.at("files");
    ByteBuffer blob;
    if (!files.empty()) {
      auto heads = read_small_file(root / "heads.bin", uint64_t{1} << 36);
      if (!heads || manifest.value("heads_fingerprint", "") != fingerprint(heads->view())) {
        return std::nullopt;
      }
      blob = std::move(*heads);
    }
    for (const auto& f : files) {
      WeightFile wf;
      wf.name = f.at("name").get<std::string>();
      wf.size = f.at("size").get<uint64_t>();
      const auto offset = f.at("offset").get<uint64_t>();
      const auto length = f.at("length").get<uint64_t>();
      if (offset > blob.size() || length > blob.size() - offset) {
        return std::nullopt;  // truncated blob: a miss
      }
      wf.head = ByteBuffer::copy_of(blob.view().substr(offset, length));
      snap.files.push_back(std::move(wf));
    }
    for (const auto& o : manifest.value("other_weights", nlohmann::json::array())) {
      snap.other_weights.push_back(o.get<std::string>());
    }
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged cache entry is a miss, not an error
  }
  return snap;
}

Result<void> store_snapshot(const fs::path& dir, const Snapshot& snap, std::string_view index_bytes,
                            const std::string& revision, std::string_view gguf_select) {
  const auto folder = snapshot_folder(snap.ref.commit, gguf_select);
  if (dir.empty() || !is_commit_sha(snap.ref.commit) || !folder) {
    return {};
  }
  const fs::path root = dir / repo_folder(snap.ref.id) / "snapshots" / *folder;
  nlohmann::json manifest = {
      {"version", k_cache_version},
      {"repo", snap.ref.id},
      {"commit", snap.ref.commit},
      {"endpoint", snap.ref.location},
      {"config", snap.config_json.has_value()},
      {"index", snap.index ? nlohmann::json(snap.index->name) : nlohmann::json()},
      {"other_weights", snap.other_weights}};
  if (snap.config_json) {
    manifest["config_fingerprint"] = fingerprint(*snap.config_json);
    if (auto ok = write_cache_file(root / "config.json", *snap.config_json); !ok) {
      return ok;
    }
  }
  if (snap.index) {
    manifest["index_fingerprint"] = fingerprint(index_bytes);
    if (auto ok = write_cache_file(root / "index" / snap.index->name, index_bytes); !ok) {
      return ok;
    }
  }
  // Every header in one file: a 191-shard repo is one write, not 191.
  nlohmann::json files = nlohmann::json::array();
  std::string blob;
  for (const WeightFile& f : snap.files) {
    files.push_back(
        {{"name", f.name}, {"size", f.size}, {"offset", blob.size()}, {"length", f.head.size()}});
    blob.append(f.head.view());
  }
  manifest["files"] = files;
  manifest["heads_fingerprint"] = fingerprint(blob);
  if (!snap.files.empty()) {
    if (auto ok = write_cache_file(root / "heads.bin", blob); !ok) {
      return ok;
    }
  }
  // The manifest is written last: its presence marks a complete entry.
  if (auto ok = write_cache_file(root / "manifest.json", manifest.dump()); !ok) {
    return ok;
  }
  return remember_ref(dir, snap.ref.id, revision, snap.ref.commit);
}

Result<void> remember_ref(const fs::path& dir, const std::string& repo, const std::string& revision,
                          const std::string& commit) {
  // A revision is a ref name (options.cpp checks git's rules); this keeps it inside refs/ even
  // when a caller did not.
  if (dir.empty() || revision.empty() || revision == commit ||
      !check_shard_name("revision", revision)) {
    return {};
  }
  return write_cache_file(dir / repo_folder(repo) / "refs" / revision, commit);
}

std::optional<Snapshot> load_cached_revision(const fs::path& dir, const std::string& repo,
                                             const std::string& revision,
                                             std::string_view gguf_select) {
  auto commit = cached_commit(dir, repo, revision);
  auto cached = commit ? load_cached_snapshot(dir, repo, *commit, gguf_select) : std::nullopt;
  if (cached) {
    cached->ref.revision = revision;
  }
  return cached;
}

HubSource::HubSource(std::string repo_id, std::string revision, HubOptions options)
    : m_repo(std::move(repo_id)),
      m_revision(revision.empty() ? "main" : std::move(revision)),
      m_options(std::move(options)) {}

Result<Snapshot> HubSource::snapshot() {
  const HubOptions& o = m_options;
  // A pinned commit already in the cache needs no request at all.
  if (is_commit_sha(m_revision)) {
    if (auto cached = load_cached_snapshot(o.cache_dir, m_repo, m_revision, o.gguf_select)) {
      cached->ref.revision = m_revision;
      return std::move(*cached);
    }
  }
  if (o.offline) {
    if (auto cached = load_cached_revision(o.cache_dir, m_repo, m_revision, o.gguf_select)) {
      return std::move(*cached);
    }
    return fail(ErrorKind::network, m_repo,
                fmt::format("revision '{}' is not in mbuild's cache and offline", m_revision));
  }

  HttpSettings settings;
  settings.endpoint = o.endpoint;
  settings.token = o.token;
  settings.max_in_flight = o.max_in_flight;
  settings.max_connections = o.max_connections;
  settings.ca_file = o.ca_file;
  settings.ca_path = o.ca_path;
  settings.fd_limit = o.fd_limit;
  settings.low_speed_time = o.timeout;
  settings.connect_timeout = o.timeout;
  settings.backoff_base = o.backoff_base;
  const bool has_token = !o.token.empty();

  // Round 1: the listing at this revision gives the commit and every file name.
  Fetch info;
  info.url = fmt::format("{}/api/models/{}/revision/{}", o.endpoint, m_repo,
                         url_encode(m_revision, false));
  info.max_body = 64 << 20;
  TransferSummary wire;  // what the reads cost, weight-file counts added at the end
  run_fetches({&info}, settings, {}, &wire);
  if (info.error || info.status != 200) {
    return tl::unexpected(hub_error(info, m_repo, "", has_token, m_revision));
  }
  auto listing = nlohmann::json::parse(info.body, nullptr, false);
  if (!listing.is_object() || !listing.contains("sha") || !listing["sha"].is_string()) {
    return fail(ErrorKind::network, m_repo, "the Hub's model listing is not the expected JSON");
  }
  const std::string commit = listing["sha"].get<std::string>();
  if (!is_commit_sha(commit)) {
    return fail(ErrorKind::network, m_repo, fmt::format("the Hub returned commit '{}'", commit));
  }
  if (auto cached = load_cached_snapshot(o.cache_dir, m_repo, commit, o.gguf_select)) {
    cached->ref.revision = m_revision;
    // The cache is best effort: a ref that cannot be written costs one request next time.
    (void)remember_ref(o.cache_dir, m_repo, m_revision, commit);
    return std::move(*cached);
  }
  std::vector<std::string> names;
  for (const auto& s : listing.value("siblings", nlohmann::json::array())) {
    if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string()) {
      std::string name = s["rfilename"].get<std::string>();
      if (check_shard_name(m_repo, name)) {
        names.push_back(std::move(name));
      }
    }
  }
  const WeightLayout layout = choose_weight_layout(names, o.gguf_select);
  if (auto chosen = check_gguf_choice(layout, m_repo, o.gguf_select); !chosen) {
    return tl::unexpected(chosen.error());
  }
  const bool has_config =
      std::find(names.begin(), names.end(), layout.folder + "config.json") != names.end();

  auto file_url = [&](const std::string& path) {
    return fmt::format("{}/{}/resolve/{}/{}", o.endpoint, m_repo, commit, url_encode(path, true));
  };
  auto header_fetch = [&](const std::string& path, uint64_t first_bytes) {
    Fetch f;
    f.url = file_url(path);
    f.range_end = first_bytes - 1;
    f.safetensors_head = true;
    return f;
  };

  // Round 2, one queue: config.json, the index and every weight file's first hop at once. With
  // an index, a shard's hop to the Hub stops at its redirect to the CDN, and the CDN read
  // starts as soon as both that redirect and the index are in: the index says how long the
  // header is, so one ranged read brings it whole (a 3 MB header of a frontier MoE shard
  // included), and the Hub hops overlap the index's own round trips.
  Fetch config_fetch, index_fetch;
  std::map<std::string, Fetch> heads;     // per path: the first hop (or the whole read)
  std::map<std::string, Fetch> reads;     // per path: the CDN read after a stopped redirect
  std::map<std::string, uint64_t> sized;  // per path: the header length the index implies
  // Per path: its first hop is done. Until then the pool's thread owns the Fetch and is
  // writing it: its status is no sign the redirect's URL is in.
  std::set<std::string> landed;
  const bool has_index = !layout.index.empty();
  size_t done = 0;
  uint64_t bytes = 0;
  size_t total_files = 0;
  FetchQueue queue(settings);
  std::unordered_map<const Fetch*, std::string> path_of;  // first hops, to their paths
  auto add = [&](Fetch& f) {
    ++total_files;
    queue.add(&f);
  };
  if (has_config) {
    config_fetch.url = file_url(layout.folder + "config.json");
    config_fetch.max_body = k_max_config_bytes;
    add(config_fetch);
  }
  if (has_index) {
    index_fetch.url = file_url(layout.index);
    index_fetch.max_body = k_max_index_bytes;
    add(index_fetch);
  }
  for (const std::string& file : layout.files) {
    Fetch& f = heads.emplace(file, header_fetch(file, k_speculative_range)).first->second;
    f.stop_at_other_origin = has_index;
    path_of[&f] = file;
    add(f);
  }
  // GGUF files (all parts of a split set at once): a first read each, then what
  // gguf_header_span says each header still needs, queued as soon as its read is in.
  std::map<std::string, GgufRead> gguf;
  std::unordered_map<const Fetch*, GgufRead*> gguf_of;
  for (size_t i = 0; i < layout.gguf_files.size(); ++i) {
    GgufRead& r = gguf[layout.gguf_files[i]];
    r.path = layout.gguf_files[i];
    Fetch& f = r.reads.emplace_back();
    f.url = file_url(r.path);
    f.max_body = i == 0 ? k_gguf_first_read : k_gguf_part_first_read;
    f.range_end = f.max_body - 1;
    gguf_of[&f] = &r;
    add(f);
  }
  // Takes a GGUF read that completed; returns the next read its header needs, or null when
  // the header is whole or the read failed (r.error).
  auto continue_gguf = [&](GgufRead& r, Fetch& f) -> Fetch* {
    const std::string what = m_repo + "/" + r.path;
    if (f.error || (f.status != 206 && f.status != 200)) {
      r.error = hub_error(f, m_repo, r.path, has_token, m_revision);
      return nullptr;
    }
    if (!f.content_encoding.empty() && f.content_encoding != "identity") {
      r.error = Error(
          ErrorKind::network, what,
          fmt::format("the server sent a {}-encoded body for a Range request", f.content_encoding));
      return nullptr;
    }
    if (r.reads.size() == 1) {
      if (!f.total_size) {
        r.error = Error(
            ErrorKind::network, what,
            "the server gave no file size (no Content-Range, X-Linked-Size or Content-Length)");
        return nullptr;
      }
      r.size = *f.total_size;
      r.commit_seen = f.repo_commit;
      r.cdn_url = f.final_url;
      r.hub_url = f.url;
      r.head = std::move(f.body);
    } else if (f.body.empty()) {
      r.error = Error(ErrorKind::network, what, "the server sent none of the header's rest");
      return nullptr;
    } else {
      r.head += f.body;
    }
    f.body = std::string();
    auto span = gguf_header_span(what, r.head, r.size);
    if (!span) {
      r.error = span.error();
      return nullptr;
    }
    if (*span <= r.head.size()) {
      r.head.resize(*span);  // the tensor data after it is not kept (nor cached)
      return nullptr;
    }
    // The second read takes exactly what the span estimates; should that fall short (a header
    // laid out unlike llama.cpp's), each later read at least doubles what is in.
    uint64_t end = *span;
    if (r.reads.size() >= 2) {
      end = std::max(end, std::min(r.size, 2 * static_cast<uint64_t>(r.head.size())));
    }
    Fetch& next = r.reads.emplace_back();
    next.url = r.cdn_url;  // the signed CDN URL: one hop, no token
    next.resolve_url = r.hub_url;
    next.range_start = r.head.size();
    next.range_end = end - 1;
    next.max_body = end - r.head.size();
    gguf_of[&next] = &r;
    return &next;
  };
  // The CDN read of `path`, once its redirect and its size are both known.
  auto read_from_cdn = [&](const std::string& path) {
    auto head = heads.find(path);
    auto size = sized.find(path);
    if (head == heads.end() || size == sized.end() || reads.count(path) || !landed.count(path) ||
        head->second.status < 300 || head->second.status >= 400 || head->second.error) {
      return;
    }
    Fetch read = header_fetch(path, size->second);
    read.url = head->second.final_url;  // the signed CDN URL: one hop, no token
    read.resolve_url = head->second.url;
    add(reads.emplace(path, std::move(read)).first->second);
  };
  std::optional<ShardIndex> index;
  std::optional<Error> index_error;
  std::string index_bytes;
  std::vector<std::string> wanted = layout.files;
  while (Fetch* f = queue.next_done()) {
    ++done;
    bytes += f->body.size();
    if (o.progress) {
      o.progress(done, total_files, bytes);
    }
    if (f == &index_fetch) {
      if (f->error || f->status != 200) {
        index_error = hub_error(*f, m_repo, layout.index, has_token, m_revision);
        continue;
      }
      index_bytes = std::move(f->body);
      auto parsed = parse_shard_index(layout.index, index_bytes);
      if (!parsed) {
        index_error = parsed.error();
        continue;
      }
      index = std::move(*parsed);
      std::vector<uint64_t> estimate(index->shards.size(), 8 + k_header_metadata_allowance);
      for (const auto& e : index->weight_map) {
        estimate[e.shard] += e.name_size + k_header_bytes_per_tensor;
      }
      // The index is authoritative: read the shards it names, in its order.
      wanted.clear();
      for (size_t i = 0; i < index->shards.size(); ++i) {
        const std::string path = layout.folder + index->shards[i];
        wanted.push_back(path);
        sized[path] = (estimate[i] + 4095) / 4096 * 4096;
        if (!heads.count(path)) {
          // Named by the index, not by the listing: read it whole from the Hub.
          add(heads.emplace(path, header_fetch(path, sized[path])).first->second);
        } else {
          read_from_cdn(path);
        }
      }
    } else if (auto it = path_of.find(f); it != path_of.end()) {
      landed.insert(it->second);
      read_from_cdn(it->second);
    } else if (auto g = gguf_of.find(f); g != gguf_of.end()) {
      if (Fetch* next = continue_gguf(*g->second, *f)) {
        add(*next);
      }
    }
  }
  if (has_config) {
    if (config_fetch.error || config_fetch.status != 200) {
      return tl::unexpected(hub_error(config_fetch, m_repo, "config.json", has_token, m_revision));
    }
  }
  if (index_error) {
    return tl::unexpected(*index_error);
  }
  for (const std::string& path : layout.gguf_files) {
    if (gguf.at(path).error) {
      return tl::unexpected(*gguf.at(path).error);
    }
  }
  // A path's header: the CDN read when the first hop stopped at its redirect.
  for (auto& [path, read] : reads) {
    Fetch& head = heads.at(path);
    const std::string commit_seen = head.repo_commit;
    const std::optional<uint64_t> linked_size = head.total_size;
    const std::string hub_url = head.url;
    head = std::move(read);
    head.url = hub_url;  // a tail read re-resolves from the Hub when a signature expires
    if (head.repo_commit.empty()) {
      head.repo_commit = commit_seen;
    }
    if (!head.total_size) {
      head.total_size = linked_size;
    }
  }

  Snapshot snap;
  snap.ref.id = m_repo;
  snap.ref.revision = m_revision;
  snap.ref.commit = commit;
  snap.ref.source = "hub";
  snap.ref.location = redact_url(o.endpoint);  // no user:password@ in outputs or the cache
  snap.display_prefix = m_repo + "/";
  snap.other_weights = layout.other_weights;
  if (layout.also_mistral) {
    snap.findings.push_back({Severity::info, m_repo,
                             "also holds the Mistral consolidated* layout; counted the "
                             "transformers layout only"});
  }
  if (has_config) {
    snap.config_json = std::move(config_fetch.body);
  }
  if (index) {
    snap.index = std::move(*index);
  }
  add_wire(wire, queue.stats());

  // Headers longer than the speculative range need one more read for the rest.
  std::vector<Fetch*> rest;
  std::map<std::string, Fetch> tails;
  for (const std::string& path : wanted) {
    Fetch& f = heads.at(path);
    if (f.error || (f.status != 206 && f.status != 200)) {
      return tl::unexpected(hub_error(f, m_repo, path, has_token, m_revision));
    }
    if (!f.content_encoding.empty() && f.content_encoding != "identity") {
      return fail(
          ErrorKind::network, m_repo + "/" + path,
          fmt::format("the server sent a {}-encoded body for a Range request", f.content_encoding));
    }
    if (!f.total_size) {
      return fail(
          ErrorKind::network, m_repo + "/" + path,
          "the server gave no file size (no Content-Range, X-Linked-Size or Content-Length)");
    }
    auto span = safetensors_header_span(m_repo + "/" + path, f.body, *f.total_size);
    if (!span) {
      return tl::unexpected(span.error());
    }
    if (f.body.size() < *span) {
      Fetch tail;
      tail.url = f.final_url;  // the signed CDN URL: one hop, no token
      tail.resolve_url = f.url;
      tail.range_start = f.body.size();
      tail.range_end = *span - 1;
      tail.max_body = *span;
      rest.push_back(&tails.emplace(path, std::move(tail)).first->second);
    }
  }
  if (!rest.empty()) {
    run_fetches(rest, settings, {}, &wire);
  }
  for (const std::string& path : wanted) {
    Fetch& f = heads.at(path);
    if (auto t = tails.find(path); t != tails.end()) {
      // 200: the server ignored Range and the client kept the range out of the whole file.
      if (t->second.error || (t->second.status != 206 && t->second.status != 200)) {
        return tl::unexpected(hub_error(t->second, m_repo, path, has_token, m_revision));
      }
      f.body += t->second.body;
    }
    if (!f.repo_commit.empty() && f.repo_commit != commit) {
      snap.findings.push_back(
          {Severity::warning, m_repo + "/" + path,
           fmt::format("served from commit {} while the listing said {}", f.repo_commit, commit)});
    }
    WeightFile wf;
    wf.name = path;
    wf.size = *f.total_size;
    wf.head = ByteBuffer::copy_of(f.body);
    snap.files.push_back(std::move(wf));
  }
  size_t gguf_reads = 0;
  for (const std::string& path : layout.gguf_files) {
    GgufRead& r = gguf.at(path);
    if (!r.commit_seen.empty() && r.commit_seen != commit) {
      snap.findings.push_back(
          {Severity::warning, m_repo + "/" + path,
           fmt::format("served from commit {} while the listing said {}", r.commit_seen, commit)});
    }
    gguf_reads += r.reads.size();
    WeightFile wf;
    wf.name = path;
    wf.size = r.size;
    wf.head = ByteBuffer::copy_of(r.head);
    snap.files.push_back(std::move(wf));
  }
  if (auto stored = store_snapshot(o.cache_dir, snap, index_bytes, m_revision, o.gguf_select);
      !stored) {
    snap.findings.push_back({Severity::warning, "cache", stored.error().message()});
  }
  wire.header_files = wanted.size() + layout.gguf_files.size();
  wire.header_reads = wanted.size() + tails.size() + gguf_reads;
  snap.transfer = wire;
  return snap;
}

}  // namespace mbuild::hub
