#include "mbuild/source/local_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include <fmt/format.h>

#include "mbuild/snapshot/gguf.hpp"
#include "mbuild/snapshot/safetensors.hpp"
#include "mbuild/snapshot/shard_index.hpp"
#include "snapshot/weight_layout.hpp"

namespace mbuild {
namespace fs = std::filesystem;

namespace {

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }

 private:
  int m_fd;
};

Error io_error(const fs::path& path, int err) {
  return Error{err == ENOENT ? ErrorKind::not_found : ErrorKind::bad_input, path.string(),
               std::strerror(err)};
}

// Opens a model file for reading, after checking that it is a regular file: a FIFO would block
// the read until a writer came, a device could stream forever, and a folder has no bytes. The
// open itself does not block (O_NONBLOCK, which regular files ignore). `size` receives the
// file's size, the bound every read of it is checked against before it starts.
Result<int> open_regular(const fs::path& path, uint64_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return tl::unexpected(io_error(path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return tl::unexpected(io_error(path, err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad_input(path.string(), S_ISDIR(st.st_mode)    ? "is a folder, not a file"
                                    : S_ISFIFO(st.st_mode) ? "is a named pipe, not a regular file"
                                    : S_ISSOCK(st.st_mode) ? "is a socket, not a regular file"
                                                           : "is a device, not a regular file");
  }
  size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// Reads up to `count` bytes at `offset`; short only at end of file.
Result<ByteBuffer> read_at(int fd, const fs::path& path, uint64_t offset, uint64_t count) {
  ByteBuffer out(count);
  uint64_t done = 0;
  while (done < count) {
    ssize_t n = ::pread(fd, out.data() + done, count - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return tl::unexpected(io_error(path, errno));
    }
    if (n == 0) {
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  out.truncate(done);
  return out;
}

// The first read of a GGUF file: most headers fit (a Llama-3 vocabulary is ~9 MB).
constexpr uint64_t k_gguf_first_read = uint64_t{16} * 1024 * 1024;

// Files this large are mapped rather than read (ByteBuffer::map_file); below it a read is
// cheaper than setting up a mapping.
constexpr uint64_t k_map_min_bytes = uint64_t{64} * 1024;

// The first `count` bytes of a file of `file_size` bytes (count <= file_size).
Result<ByteBuffer> read_head(int fd, const fs::path& path, uint64_t count, uint64_t file_size) {
  if (count >= k_map_min_bytes) {
    ByteBuffer mapped = ByteBuffer::map_file(fd, count, file_size);
    if (mapped.data() != nullptr) {
      return mapped;
    }
  }
  return read_at(fd, path, 0, count);
}

// The folder's entries as the Hub would list its files: those at the root, and those one level
// down in the subfolders a diffusers pipeline keeps its denoiser in. Entries of every type are
// listed, so that a FIFO, device or folder standing where a weight file or index belongs is
// read, and refused by name, rather than silently passed over.
std::vector<std::string> list_folder(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    names.push_back(entry.path().filename().string());
  }
  for (std::string_view sub : {"transformer", "unet"}) {
    for (const auto& entry : fs::directory_iterator(folder / sub, ec)) {
      names.push_back(std::string(sub) + "/" + entry.path().filename().string());
    }
  }
  return names;
}

// Reads the weights choose_weight_layout picks, exactly as the Hub source does: the index is
// authoritative for which shards exist.
Result<void> read_folder_weights(const fs::path& folder, const WeightLayout& layout,
                                 Snapshot& snap) {
  std::error_code ec;
  if (!layout.index.empty()) {
    auto text = read_small_file(folder / layout.index, k_max_index_bytes);
    if (!text) {
      return tl::unexpected(text.error());
    }
    auto index = parse_shard_index(layout.index, std::move(*text));
    if (!index) {
      return tl::unexpected(index.error());
    }
    for (const std::string& shard : index->shards) {
      const std::string name = layout.folder + shard;
      if (!fs::exists(folder / name, ec)) {
        return bad_input(index->name, fmt::format("names shard '{}', which is not in {}", shard,
                                                  (folder / layout.folder).string()));
      }
      auto head = read_weight_head(folder / name, name);
      if (!head) {
        return tl::unexpected(head.error());
      }
      snap.files.push_back(std::move(*head));
    }
    snap.index = std::move(*index);
  } else if (!layout.gguf_files.empty()) {
    for (const std::string& name : layout.gguf_files) {
      auto head = read_weight_head(folder / name, name);
      if (!head) {
        return tl::unexpected(head.error());
      }
      snap.files.push_back(std::move(*head));
    }
  } else {
    for (const std::string& name : layout.files) {
      auto head = read_weight_head(folder / name, name);
      if (!head) {
        return tl::unexpected(head.error());
      }
      snap.files.push_back(std::move(*head));
    }
  }
  // A repo holding both the transformers and the Mistral-native layout: count one.
  if (layout.also_mistral) {
    snap.findings.push_back({Severity::info, folder.string(),
                             "also holds the Mistral consolidated* layout; counted the "
                             "transformers layout only"});
  }
  snap.other_weights = layout.other_weights;
  return {};
}

// ", Q4_K 71% Q6_K 28% F32 1%": the ggml types of a GGUF file by share of its tensor bytes, for
// listing quantizations; empty when the header cannot be read (the pick reports that).
std::string gguf_type_mix(const fs::path& path) {
  auto head = read_weight_head(path, path.filename().string());
  if (!head) {
    return {};
  }
  auto header = parse_gguf_header(head->name, head->head.view(), head->size);
  if (!header || header->data_bytes == 0) {
    return {};
  }
  std::vector<std::pair<std::string_view, uint64_t>> by_type;
  for (const TensorInfo& t : header->tensors) {
    const std::string_view type = tensor_dtype_name(t);
    auto it = std::find_if(by_type.begin(), by_type.end(),
                           [&](const auto& e) { return e.first == type; });
    if (it == by_type.end()) {
      by_type.emplace_back(type, t.end - t.begin);
    } else {
      it->second += t.end - t.begin;
    }
  }
  std::sort(by_type.begin(), by_type.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [type, bytes] : by_type) {
    out += fmt::format(" {} {}%", type, bytes * 100 / header->data_bytes);
  }
  return "," + out;
}

}  // namespace

Result<ByteBuffer> read_small_file(const fs::path& path, uint64_t max_bytes) {
  uint64_t size = 0;
  auto opened = open_regular(path, size);
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  Fd fd(*opened);
  if (size > max_bytes) {
    return bad_input(path.string(),
                     fmt::format("is {} bytes, over the {} byte limit", size, max_bytes));
  }
  return read_head(fd.get(), path, size, size);
}

Result<WeightFile> read_weight_head(const fs::path& path, std::string name) {
  WeightFile file;
  auto opened = open_regular(path, file.size);
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  Fd fd(*opened);
  file.name = std::move(name);
  auto prefix = read_at(fd.get(), path, 0, 8);
  if (!prefix) {
    return tl::unexpected(prefix.error());
  }
  // The format is told by the magic, not the name.
  if (is_gguf(prefix->view())) {
    // A GGUF header's size is known only once read: read a first part, and as much more as
    // gguf_header_span estimates, until it holds the whole header (each estimate is larger).
    uint64_t want = std::min(file.size, k_gguf_first_read);
    for (;;) {
      auto head = read_head(fd.get(), path, want, file.size);
      if (!head) {
        return tl::unexpected(head.error());
      }
      auto span = gguf_header_span(file.name, head->view(), file.size);
      if (!span) {
        return tl::unexpected(span.error());
      }
      if (*span <= head->size()) {
        file.head = std::move(*head);
        return file;
      }
      want = *span;
    }
  }
  auto span = safetensors_header_span(file.name, prefix->view(), file.size);
  if (!span) {
    return tl::unexpected(span.error());
  }
  auto head = read_head(fd.get(), path, *span, file.size);
  if (!head) {
    return tl::unexpected(head.error());
  }
  file.head = std::move(*head);
  return file;
}

LocalFolderSource::LocalFolderSource(fs::path folder, std::string id, std::string gguf_select)
    : m_folder(std::move(folder)), m_id(std::move(id)), m_gguf_select(std::move(gguf_select)) {}

Result<Snapshot> LocalFolderSource::snapshot() {
  auto snap = read_snapshot();
  // Names relative to the folder get its path; paths that already start with it (the folder
  // itself, files read by full path) keep theirs, also when the folder path is relative.
  if (snap) {
    return snap;
  }
  std::string& what = snap.error().what;
  const std::string folder = m_folder.string();
  if (!what.empty() && what.front() != '/' && what != folder &&
      !what.starts_with((m_folder / "").string())) {
    what = (m_folder / what).string();
  }
  return snap;
}

Result<Snapshot> LocalFolderSource::read_snapshot() {
  std::error_code ec;
  if (!fs::is_directory(m_folder, ec)) {
    return fail(ErrorKind::not_found, m_folder.string(), "no such folder");
  }
  Snapshot snap;
  snap.ref.id =
      m_id.empty() ? fs::absolute(m_folder, ec).lexically_normal().filename().string() : m_id;
  if (snap.ref.id.empty()) {
    snap.ref.id = fs::absolute(m_folder, ec).lexically_normal().parent_path().filename().string();
  }
  snap.ref.source = "local";
  snap.ref.location = m_folder.string();
  snap.display_prefix = (m_folder / "").string();

  const WeightLayout layout = choose_weight_layout(list_folder(m_folder), m_gguf_select);
  if (layout.gguf_files.empty() && (layout.gguf_variants.size() > 1 || !m_gguf_select.empty())) {
    std::vector<std::string> listed;
    for (const GgufVariant& v : layout.gguf_variants) {
      uint64_t bytes = 0;
      for (const std::string& f : v.files) {
        std::error_code size_ec;
        const auto size = fs::file_size(m_folder / f, size_ec);
        bytes += size_ec ? 0 : size;
      }
      listed.push_back(fmt::format("{} ({} file(s), {} bytes{})", v.name, v.files.size(), bytes,
                                   gguf_type_mix(m_folder / v.files.front())));
    }
    if (!m_gguf_select.empty()) {
      return fail(ErrorKind::not_found, m_folder.string(),
                  fmt::format("no GGUF quantization matches '{}'", excerpt(m_gguf_select)),
                  listed.empty() ? "" : fmt::format("found {}", fmt::join(listed, ", ")));
    }
    return fail(
        ErrorKind::usage, m_folder.string(),
        fmt::format("holds {} GGUF quantizations: {}", listed.size(), fmt::join(listed, ", ")),
        "pick one with --file NAME: a file, a variant or a tag such as Q4_K_M");
  }
  const std::string& prefix = layout.folder;  // "" or a diffusers subfolder, "transformer/"
  if (fs::exists(m_folder / prefix / "config.json", ec)) {
    auto config = read_small_file(m_folder / prefix / "config.json", k_max_config_bytes);
    if (!config) {
      return tl::unexpected(config.error());
    }
    snap.config_json = std::string(config->view());
    snap.config_name = prefix + "config.json";
  }
  if (auto ok = read_folder_weights(m_folder, layout, snap); !ok) {
    return tl::unexpected(ok.error());
  }
  if (!snap.config_json && snap.files.empty()) {
    return fail(ErrorKind::not_found, m_folder.string(),
                "holds neither config.json nor safetensors or GGUF files");
  }
  return snap;
}

LocalFileSource::LocalFileSource(fs::path file) : m_file(std::move(file)) {}

Result<Snapshot> LocalFileSource::snapshot() {
  std::error_code ec;
  if (!fs::exists(m_file, ec)) {
    return fail(ErrorKind::not_found, m_file.string(), "no such file");
  }
  Snapshot snap;
  snap.ref.id = m_file.stem().string();
  snap.ref.source = "local";
  snap.ref.location = m_file.string();
  // One part of a split GGUF stands for the whole set: its parts sit beside it.
  std::vector<fs::path> paths = {m_file};
  if (auto split = gguf_split_name(m_file.filename().string()); split && split->count > 1) {
    paths.clear();
    snap.ref.id = split->stem;
    for (uint32_t part = 1; part <= split->count; ++part) {
      paths.push_back(m_file.parent_path() /
                      fmt::format("{}-{:05}-of-{:05}.gguf", split->stem, part, split->count));
    }
  }
  for (const fs::path& path : paths) {
    auto head = read_weight_head(path, path.string());
    if (!head) {
      return tl::unexpected(head.error());
    }
    snap.files.push_back(std::move(*head));
  }
  fs::path config = m_file.parent_path() / "config.json";
  if (fs::exists(config, ec)) {
    auto text = read_small_file(config, k_max_config_bytes);
    if (!text) {
      return tl::unexpected(text.error());
    }
    snap.config_json = std::string(text->view());
    snap.config_name = config.string();
    snap.findings.push_back(
        {Severity::info, config.string(), "read config.json from the file's folder"});
  }
  return snap;
}

Result<fs::path> resolve_hf_cache(const fs::path& hub_cache, const std::string& repo_id,
                                  const std::string& revision, std::string& commit) {
  std::string folder_name = "models--" + repo_id;
  for (size_t pos = folder_name.find('/'); pos != std::string::npos;
       pos = folder_name.find('/', pos)) {
    folder_name.replace(pos, 1, "--");
  }
  const fs::path repo = hub_cache / folder_name;
  std::error_code ec;
  if (!fs::is_directory(repo, ec)) {
    return fail(ErrorKind::network, repo_id,
                fmt::format("not in the HF cache ({}) and offline", hub_cache.string()));
  }
  static const std::regex k_commit_re("^[0-9a-f]{40}$");
  const std::string rev = revision.empty() ? "main" : revision;
  if (std::regex_match(rev, k_commit_re)) {
    commit = rev;
  } else {
    auto ref = read_small_file(repo / "refs" / rev, 4096);
    if (!ref) {
      return fail(ErrorKind::network, repo_id,
                  fmt::format("revision '{}' is not in the HF cache and offline", rev));
    }
    commit = std::string(ref->view());
    while (!commit.empty() &&
           (commit.back() == '\n' || commit.back() == '\r' || commit.back() == ' ')) {
      commit.pop_back();
    }
    if (!std::regex_match(commit, k_commit_re)) {
      return bad_input((repo / "refs" / rev).string(), "does not hold a 40-hex commit");
    }
  }
  fs::path snapshot = repo / "snapshots" / commit;
  if (!fs::is_directory(snapshot, ec)) {
    return fail(ErrorKind::network, repo_id,
                fmt::format("snapshot {} is not in the HF cache and offline", commit));
  }
  return snapshot;
}

}  // namespace mbuild
