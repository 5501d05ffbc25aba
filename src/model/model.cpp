#include "mbuild/model/model.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "util/checked.hpp"
#include "util/name_hash.hpp"

namespace mbuild {
namespace {

// The model's tensors by name: open addressing over indices into Model::tensors, one
// allocation for the whole table instead of a node per name. A slot holds the tensor's index and
// the high half of its name's hash, so a probe compares names only when the hashes agree.
//
// Tens of thousands of names make every probe a cache miss (the table is megabytes, the names
// are spread over the mapped headers), so the bulk operations work as a pipeline: for the name
// k_ahead places on, its slot is prefetched; k_ahead / 2 places on, the tensor that slot points
// at (when the hashes agree); k_ahead / 4 places on, that tensor's name.
class NameTable {
 public:
  explicit NameTable(const std::vector<TensorInfo>& tensors) : m_tensors(tensors) {
    // At most 2/3 full: short probes, and a table of a megabyte for 76k names.
    size_t slots = 16;
    while (slots * 2 < tensors.size() * 3) {
      slots *= 2;
    }
    m_slots.assign(slots, k_empty);
  }

  // Adds every tensor, in order; stops at the first name already added and returns
  // (earlier tensor, later tensor).
  std::optional<std::pair<uint32_t, uint32_t>> insert_all() {
    std::optional<std::pair<uint32_t, uint32_t>> duplicate;
    pipeline(
        m_tensors.size(), [&](size_t i) { return m_tensors[i].name; },
        [&](size_t i, std::string_view name, uint64_t hash) {
          for (size_t s = hash & mask();; s = (s + 1) & mask()) {
            if (m_slots[s] == k_empty) {
              m_slots[s] = slot_value(hash, static_cast<uint32_t>(i));
              return true;
            }
            if (tag(m_slots[s]) == tag(hash) && m_tensors[index(m_slots[s])].name == name) {
              duplicate.emplace(index(m_slots[s]), static_cast<uint32_t>(i));
              return false;
            }
          }
        });
    return duplicate;
  }

  // Calls found(i, tensor index or nullopt) for the names name_at(0) ... name_at(n - 1), in order.
  template <class NameAt, class Found>
  void find_all(size_t n, NameAt name_at, Found found) const {
    pipeline(n, name_at, [&](size_t i, std::string_view name, uint64_t hash) {
      for (size_t s = hash & mask();; s = (s + 1) & mask()) {
        if (m_slots[s] == k_empty) {
          found(i, std::optional<uint32_t>());
          return true;
        }
        if (tag(m_slots[s]) == tag(hash) && m_tensors[index(m_slots[s])].name == name) {
          found(i, std::optional<uint32_t>(index(m_slots[s])));
          return true;
        }
      }
    });
  }

 private:
  static constexpr uint64_t k_empty = UINT64_MAX;
  static constexpr size_t k_ahead = 16;  // a power of two
  size_t mask() const { return m_slots.size() - 1; }
  static uint64_t slot_value(uint64_t hash, uint32_t i) { return (hash & ~0xFFFFFFFFULL) | i; }
  static uint64_t tag(uint64_t v) { return v >> 32; }
  static uint32_t index(uint64_t slot) { return static_cast<uint32_t>(slot); }

  // Runs step(i, name, hash) for i = 0 .. n - 1 in order, until a step returns false, with the
  // memory each step reads prefetched ahead of it.
  template <class NameAt, class Step>
  void pipeline(size_t n, NameAt name_at, Step step) const {
    uint64_t hashes[k_ahead];
    auto start = [&](size_t i) {
      hashes[i % k_ahead] = name_hash(name_at(i));
      __builtin_prefetch(&m_slots[hashes[i % k_ahead] & mask()]);
    };
    for (size_t i = 0; i < std::min(n, k_ahead); ++i) {
      start(i);
    }
    // The tensor the first slot of name j points at, when the hashes agree (a likely match).
    auto candidate = [&](size_t j) -> const TensorInfo* {
      const uint64_t hash = hashes[j % k_ahead];
      const uint64_t slot = m_slots[hash & mask()];
      return slot != k_empty && tag(slot) == tag(hash) ? &m_tensors[index(slot)] : nullptr;
    };
    for (size_t i = 0; i < n; ++i) {
      if (i + k_ahead / 2 < n) {
        if (const TensorInfo* t = candidate(i + k_ahead / 2)) {
          __builtin_prefetch(t);
        }
      }
      if (i + k_ahead / 4 < n) {
        if (const TensorInfo* t = candidate(i + k_ahead / 4)) {
          __builtin_prefetch(t->name.data());
        }
      }
      const uint64_t hash = hashes[i % k_ahead];
      if (!step(i, name_at(i), hash)) {
        return;
      }
      if (i + k_ahead < n) {
        start(i + k_ahead);
      }
    }
  }

  const std::vector<TensorInfo>& m_tensors;
  std::vector<uint64_t> m_slots;
};

// Parses every header, spreading files over the machine's cores (the largest repos, Qwen3-Next:
// 33 files, 76k tensors, spend most of their time here), and appends each file's tensors to
// the model's table in name order as soon as the files before it are in. Each worker parses into
// one vector it reuses and the table is reserved once, so the tensors reach fresh memory once.
// Each file's bytes are released once parsed.
// The limits are checked file by file, in name order, so the error names the file that crosses
// one; from there on nothing more is added. Returns each file's header (tensors moved out) and
// tensor count, and the first limit error.
// A GGUF file's header in the form the table is built from (tensors, names, findings); the
// rest of what it says goes to `gguf`.
Result<SafetensorsHeader> parse_gguf_as_header(const WeightFile& file,
                                               std::optional<GgufFileInfo>& gguf) {
  auto parsed = parse_gguf_header(file.name, file.head.view(), file.size);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  SafetensorsHeader out;
  out.header_length = parsed->header_bytes;
  out.data_bytes = parsed->data_bytes;
  out.tensors = std::move(parsed->tensors);
  out.names = std::move(parsed->names);
  out.findings = std::move(parsed->findings);
  gguf = GgufFileInfo{parsed->version, parsed->alignment, parsed->data_offset,
                      std::move(parsed->metadata)};
  return out;
}

struct ParsedHeaders {
  std::vector<Result<SafetensorsHeader>> headers;
  std::vector<std::optional<GgufFileInfo>> gguf;  // per file, for GGUF files
  std::vector<size_t> tensors;
  std::optional<Error> over_limit;
};

ParsedHeaders parse_headers(std::vector<WeightFile>& files, Model& model) {
  ParsedHeaders out;
  out.headers.assign(files.size(), tl::unexpected(Error{ErrorKind::bad_input, "", ""}));
  out.tensors.assign(files.size(), 0);
  out.gguf.assign(files.size(), std::nullopt);
  // An upper bound on the tensors (no reallocation, and pages never written cost nothing),
  // capped at the model limit.
  uint64_t bound = 0;
  for (const WeightFile& f : files) {
    bound += max_tensors_in_header(f.head.size());
  }
  model.tensors.reserve(std::min<uint64_t>(bound, k_max_model_tensors + 1));

  ModelTotals totals;
  std::mutex mutex;
  std::condition_variable turn_changed;
  size_t turn = 0;  // the file whose tensors are appended next
  std::atomic<size_t> next{0};
  // Out of memory in a worker: it still takes its turn (no one waits forever), the rest is
  // skipped, and the caller's thread throws std::bad_alloc once every worker is joined.
  std::atomic<bool> out_of_memory{false};
  // Appends file i's tensors to the table (the caller holds the lock and has the turn); the
  // emptied vector goes back to the worker's scratch.
  auto append = [&](size_t i, Result<SafetensorsHeader>& header, std::vector<TensorInfo>& scratch) {
    if (out_of_memory) {
      return;
    }
    if (header) {
      std::vector<TensorInfo>& tensors = header->tensors;
      out.tensors[i] = tensors.size();
      uint64_t parameters = 0;
      for (const TensorInfo& t : tensors) {
        parameters = checked_add(parameters, t.elements).value_or(UINT64_MAX);
      }
      if (!out.over_limit) {
        auto added =
            add_file_totals(totals, files[i].name, tensors.size(), parameters, header->data_bytes);
        if (!added) {
          out.over_limit = added.error();
        } else {
          for (TensorInfo& t : tensors) {
            t.file = static_cast<uint32_t>(i);
          }
          model.tensors.insert(model.tensors.end(), tensors.begin(), tensors.end());
          model.names.keep(header->names);
        }
      }
      scratch = std::move(tensors);
      scratch.clear();
    }
  };
  auto worker = [&] {
    std::vector<TensorInfo> scratch;
    for (size_t i = next++; i < files.size(); i = next++) {
      // A mapped file stays mapped for the names to view into; other bytes are released.
      Result<SafetensorsHeader> header =
          tl::unexpected(Error{ErrorKind::bad_input, files[i].name, "not parsed"});
      try {
        if (!out_of_memory && is_gguf(files[i].head.view())) {
          header = parse_gguf_as_header(files[i], out.gguf[i]);
        } else if (!out_of_memory) {
          header =
              files[i].head.mapped()
                  ? parse_safetensors_header(
                        files[i].name, std::make_shared<const ByteBuffer>(std::move(files[i].head)),
                        files[i].size, std::exchange(scratch, {}))
                  : parse_safetensors_header(files[i].name, files[i].head, files[i].size,
                                             std::exchange(scratch, {}));
        }
      } catch (const std::bad_alloc&) {
        out_of_memory = true;
      }
      files[i].head = ByteBuffer();
      std::unique_lock lock(mutex);
      turn_changed.wait(lock, [&] { return turn == i; });
      try {
        append(i, header, scratch);
      } catch (const std::bad_alloc&) {
        out_of_memory = true;
      }
      out.headers[i] = std::move(header);
      ++turn;
      turn_changed.notify_all();
    }
  };
  size_t threads =
      std::min<size_t>(files.size(), std::max(1U, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  worker();
  for (auto& t : pool) {
    t.join();
  }
  if (out_of_memory) {
    throw std::bad_alloc();
  }
  return out;
}

// Index <-> shards: every listed tensor present in the shard it names, none unlisted,
// total_size equal to the tensor bytes. `by_name` maps each stored tensor to its index.
void check_index(const ShardIndex& index, const Model& model, const NameTable& by_name,
                 std::vector<Finding>& findings) {
  std::unordered_map<std::string_view, uint32_t> file_id;
  for (uint32_t i = 0; i < model.files.size(); ++i) {
    file_id.emplace(model.files[i].name, i);
  }
  std::vector<uint32_t> shard_file(index.shards.size(), UINT32_MAX);
  for (size_t s = 0; s < index.shards.size(); ++s) {
    // Files are named with the folder prefix of a diffusers layout; shards without it.
    for (uint32_t i = 0; i < model.files.size(); ++i) {
      std::string_view name = model.files[i].name;
      if (name == index.shards[s] || (name.ends_with(index.shards[s]) &&
                                      name[name.size() - index.shards[s].size() - 1] == '/')) {
        shard_file[s] = i;
        break;
      }
    }
  }
  size_t missing = 0, misplaced = 0;
  std::string first_missing, first_misplaced;
  std::vector<bool> listed(model.tensors.size(), false);
  auto name_at = [&](size_t e) { return index.tensor(index.weight_map[e]); };
  by_name.find_all(index.weight_map.size(), name_at, [&](size_t e, std::optional<uint32_t> found) {
    if (!found) {
      if (missing++ == 0) {
        first_missing = name_at(e);
      }
      return;
    }
    listed[*found] = true;
    if (shard_file[index.weight_map[e].shard] != model.tensors[*found].file && misplaced++ == 0) {
      first_misplaced = name_at(e);
    }
  });
  size_t unlisted = 0;
  std::string first_unlisted;
  for (size_t i = 0; i < listed.size(); ++i) {
    if (!listed[i] && unlisted++ == 0) {
      first_unlisted = model.tensors[i].name;
    }
  }
  if (missing) {
    findings.push_back({Severity::warning, index.name,
                        fmt::format("{} tensor(s) listed in weight_map are absent from the "
                                    "shards (first: '{}')",
                                    missing, first_missing)});
  }
  if (misplaced) {
    findings.push_back({Severity::warning, index.name,
                        fmt::format("{} tensor(s) are in another shard than weight_map says "
                                    "(first: '{}')",
                                    misplaced, first_misplaced)});
  }
  if (unlisted) {
    findings.push_back({Severity::warning, index.name,
                        fmt::format("{} tensor(s) in the shards are not listed in weight_map "
                                    "(first: '{}')",
                                    unlisted, first_unlisted)});
  }
  if (index.total_size) {
    uint64_t bytes = 0;
    for (const WeightFileInfo& f : model.files) {
      bytes += f.data_bytes;
    }
    if (*index.total_size != bytes) {
      findings.push_back({Severity::warning, index.name,
                          fmt::format("metadata.total_size is {} but the shards hold {} tensor "
                                      "bytes",
                                      *index.total_size, bytes)});
    }
  }
}

}  // namespace

namespace {

// A GGUF model: the config from the first file's metadata when there is no config.json, and
// the split files checked against what the first one says (split.count, split.tensors.count).
Result<void> read_gguf_model(Model& model) {
  const WeightFileInfo* first = model.gguf_file();
  if (!first) {
    return {};
  }
  GgufHeader meta;  // the first file's metadata, for its lookups
  meta.metadata = first->gguf->metadata;
  if (!model.config) {
    bool has_output = false;
    for (const TensorInfo& t : model.tensors) {
      has_output = has_output || t.name == "output.weight";
    }
    auto config = model_config_from_gguf(first->name, meta, has_output);
    if (!config) {
      return tl::unexpected(config.error());
    }
    model.config = std::move(*config);
  }
  if (auto count = meta.get_uint("split.count"); count && *count != model.files.size()) {
    model.findings.push_back(
        {Severity::warning, first->name,
         fmt::format("split.count is {} but {} file(s) were read", *count, model.files.size())});
  }
  if (auto count = meta.get_uint("split.tensors.count"); count && *count != model.tensors.size()) {
    model.findings.push_back({Severity::warning, first->name,
                              fmt::format("split.tensors.count is {} but the files hold {} "
                                          "tensors",
                                          *count, model.tensors.size())});
  }
  return {};
}

Result<Model> build_model_unprefixed(Snapshot snapshot) {
  Model model;
  model.ref = std::move(snapshot.ref);
  model.other_weights = std::move(snapshot.other_weights);
  model.findings = std::move(snapshot.findings);

  if (snapshot.config_json) {
    auto config = parse_model_config(snapshot.config_name, *snapshot.config_json);
    if (!config) {
      return tl::unexpected(config.error());
    }
    model.config = std::move(*config);
  }
  model.index = std::move(snapshot.index);

  // Files in name order (model-00001 first), whatever order the source found them in.
  std::sort(snapshot.files.begin(), snapshot.files.end(),
            [](const WeightFile& a, const WeightFile& b) { return a.name < b.name; });
  auto parsed = parse_headers(snapshot.files, model);
  for (size_t i = 0; i < parsed.headers.size(); ++i) {
    if (!parsed.headers[i]) {
      return tl::unexpected(parsed.headers[i].error());
    }
  }
  if (parsed.over_limit) {
    return tl::unexpected(*parsed.over_limit);
  }
  for (size_t i = 0; i < parsed.headers.size(); ++i) {
    SafetensorsHeader& h = *parsed.headers[i];
    WeightFileInfo info;
    info.name = snapshot.files[i].name;
    info.size = snapshot.files[i].size;
    info.header_bytes = h.header_length;
    info.data_bytes = h.data_bytes;
    info.tensors = parsed.tensors[i];
    info.metadata = std::move(h.metadata);
    info.gguf = std::move(parsed.gguf[i]);
    model.files.push_back(std::move(info));
    for (Finding& f : h.findings) {
      model.findings.push_back(std::move(f));
    }
  }
  // A name stored in two shards would be counted twice: that is a broken checkpoint.
  std::optional<NameTable> by_name;
  if (model.files.size() > 1 || model.index) {
    by_name.emplace(model.tensors);
    if (auto duplicate = by_name->insert_all()) {
      const TensorInfo& t = model.tensors[duplicate->second];
      return bad_input(model.files[t.file].name,
                       fmt::format("tensor '{}' is also stored in {}", excerpt(t.name),
                                   model.files[model.tensors[duplicate->first].file].name));
    }
  }
  if (auto ok = read_gguf_model(model); !ok) {
    return tl::unexpected(ok.error());
  }
  // Header-only replicas: one note for the whole model rather than one per file.
  size_t absent = 0;
  std::vector<Finding> kept;
  for (Finding& f : model.findings) {
    if (f.severity == Severity::info && f.text.starts_with("header-only file")) {
      ++absent;
    } else {
      kept.push_back(std::move(f));
    }
  }
  model.findings = std::move(kept);
  if (absent) {
    model.findings.push_back({Severity::info, model.ref.id,
                              fmt::format("{} of {} file(s) are header-only: the data region is "
                                          "absent (counts come from the headers)",
                                          absent, model.files.size())});
  }
  if (model.index) {
    check_index(*model.index, model, *by_name, model.findings);
  }
  return model;
}

}  // namespace

Result<void> add_file_totals(ModelTotals& totals, std::string_view file, size_t tensors,
                             uint64_t parameters, uint64_t data_bytes) {
  auto over = [&](uint64_t total, std::string_view what, uint64_t limit) {
    return bad_input(std::string(file),
                     fmt::format("the model reaches {} {} with this file, over the limit of {} "
                                 "for a model",
                                 total, what, limit));
  };
  // Saturating sums: a total that overflows is over its limit too.
  const uint64_t new_tensors = checked_add(totals.tensors, tensors).value_or(UINT64_MAX);
  if (new_tensors > k_max_model_tensors) {
    return over(new_tensors, "tensors", k_max_model_tensors);
  }
  const uint64_t new_parameters = checked_add(totals.parameters, parameters).value_or(UINT64_MAX);
  if (new_parameters > k_max_model_parameters) {
    return over(new_parameters, "parameters", k_max_model_parameters);
  }
  const uint64_t new_bytes = checked_add(totals.data_bytes, data_bytes).value_or(UINT64_MAX);
  if (new_bytes > k_max_model_data_bytes) {
    return over(new_bytes, "bytes of tensor data", k_max_model_data_bytes);
  }
  totals = {new_tensors, new_parameters, new_bytes};
  return {};
}

Result<Model> build_model(Snapshot snapshot) {
  const std::string prefix = snapshot.display_prefix;
  auto result = build_model_unprefixed(std::move(snapshot));
  if (!result && !result.error().what.empty() && result.error().what.front() != '/') {
    result.error().what = prefix + result.error().what;
  }
  return result;
}

}  // namespace mbuild
