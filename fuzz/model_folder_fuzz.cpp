// Fuzzes the file path `mbuild inspect FOLDER` takes: the input is written into a model folder,
// read back by LocalFolderSource (open, fstat, pread or mmap from 64 KiB on), built into a model
// and reported on, text and JSON. The in-memory targets never reach the mapping, nor the hand-over
// between the plain-JSON fast path and the simdjson reader on mapped bytes; this one does.
//
// Built twice from this file:
//   fuzz_safetensors_file  the input is model.safetensors (beside a fixed Llama config.json)
//   fuzz_config_file       the input is config.json (beside a fixed one-layer Llama header)
//
// fuzz_safetensors_file also has a structure-aware mutator: half of its mutations edit the
// header's JSON text the way a writer could have written it (a name with a \u escape, a dtype,
// an offset, a shape, metadata padding that moves the header across the 64 KiB mapping
// threshold, a duplicated or dropped tensor), so they stay valid JSON most of the time.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/render/render.hpp"
#include "mbuild/source/local_source.hpp"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {
namespace fs = std::filesystem;

[[maybe_unused]] constexpr std::string_view k_config = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
  "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
  "num_hidden_layers": 1, "vocab_size": 256, "max_position_embeddings": 2048,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16"
})";

// A one-layer Llama at the config above, header-only.
[[maybe_unused]] std::string fixed_weights() {
  struct Row {
    const char* name;
    uint64_t rows, cols;
  };
  const Row rows[] = {
      {"model.embed_tokens.weight", 256, 64},
      {"model.layers.0.input_layernorm.weight", 64, 0},
      {"model.layers.0.mlp.down_proj.weight", 64, 128},
      {"model.layers.0.mlp.gate_proj.weight", 128, 64},
      {"model.layers.0.mlp.up_proj.weight", 128, 64},
      {"model.layers.0.post_attention_layernorm.weight", 64, 0},
      {"model.layers.0.self_attn.k_proj.weight", 32, 64},
      {"model.layers.0.self_attn.o_proj.weight", 64, 64},
      {"model.layers.0.self_attn.q_proj.weight", 64, 64},
      {"model.layers.0.self_attn.v_proj.weight", 32, 64},
      {"model.norm.weight", 64, 0},
  };
  nlohmann::json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const Row& r : rows) {
    const uint64_t elements = r.cols ? r.rows * r.cols : r.rows;
    auto shape = r.cols ? nlohmann::json::array({r.rows, r.cols}) : nlohmann::json::array({r.rows});
    header[r.name] = {
        {"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {offset, offset + 2 * elements}}};
    offset += 2 * elements;
  }
  const std::string json = header.dump();
  std::string file(8, '\0');
  for (size_t i = 0; i < 8; ++i) {
    file[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  }
  return file + json;
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// The model folder, made once per process in /dev/shm (tmpfs: no disk writes per execution)
// and removed at exit.
const fs::path& folder() {
  static const fs::path dir = [] {
    std::string pattern = (fs::is_directory("/dev/shm") ? std::string("/dev/shm")
                                                        : fs::temp_directory_path().string()) +
                          "/mbuild-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("fuzz: mkdtemp");
      std::abort();
    }
    fs::path made(pattern);
#ifdef MBUILD_FUZZ_CONFIG_FILE
    write_file(made / "model.safetensors", fixed_weights());
#else
    write_file(made / "config.json", k_config);
#endif
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(folder(), ec);
    });
    return made;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
#ifdef MBUILD_FUZZ_CONFIG_FILE
  write_file(folder() / "config.json", input);
#else
  write_file(folder() / "model.safetensors", input);
#endif
  mbuild::LocalFolderSource source(folder(), "fuzz");
  auto snapshot = source.snapshot();
  if (!snapshot) {
    if (snapshot.error().message().empty()) {
      std::abort();  // every error has a reason
    }
    return 0;
  }
  auto model = mbuild::build_model(std::move(*snapshot));
  if (!model) {
    if (model.error().message().empty()) {
      std::abort();
    }
    return 0;
  }
  const mbuild::Analysis report = mbuild::analyze(*model, {.context = 4096, .batch = 1});
  (void)mbuild::render_inspect_text(*model, report);
  (void)mbuild::render_inspect_json(*model, report);
  return 0;
}

#ifndef MBUILD_FUZZ_CONFIG_FILE
namespace {

// Text edits on a header that a writer could have produced, made on the JSON text itself (a
// parse and a dump of a 300 KB header per mutation would cost more than the execution).
class HeaderMutator {
 public:
  HeaderMutator(std::string& json, std::mt19937& rng) : m_json(json), m_rng(rng) {}

  // Applies one edit; false when the header has nothing it applies to.
  bool mutate() {
    switch (pick(6)) {
      case 0:
        return pad_metadata();
      case 1:
        return escape_name();
      case 2:
        return replace_after("\"dtype\":\"", '"', random_dtype());
      case 3:
        return replace_after("\"data_offsets\":[", pick(2) ? ',' : ']', random_number());
      case 4:
        return replace_after("\"shape\":[", pick(2) ? ',' : ']', random_number());
      default:
        return copy_or_drop_tensor();
    }
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(m_rng); }

  // The position of `token` at or after a random place, wrapping around; npos when absent.
  size_t find_random(std::string_view token) {
    const size_t from = pick(m_json.size() + 1);
    size_t at = m_json.find(token, from);
    return at != std::string::npos ? at : m_json.find(token);
  }

  std::string random_dtype() {
    static const char* k_dtypes[] = {"BF16",    "F16", "F32",  "F64",     "I8",
                                     "U8",      "I32", "U32",  "F8_E4M3", "F8_E5M2",
                                     "F8_E8M0", "F4",  "BOOL", "Q17",     ""};
    return k_dtypes[pick(std::size(k_dtypes))];
  }

  std::string random_number() {
    static const char* k_numbers[] = {
        "0",  "1",   "2",  "4096", "65536", "18446744073709551615", "281474976710656",
        "-1", "1.5", "1e3"};
    return pick(3) ? std::to_string(pick(1 << 20)) : k_numbers[pick(std::size(k_numbers))];
  }

  // Replaces what follows a random `key` up to `end` with `value`.
  bool replace_after(std::string_view key, char end, const std::string& value) {
    const size_t at = find_random(key);
    if (at == std::string::npos) {
      return false;
    }
    const size_t begin = at + key.size();
    const size_t stop = m_json.find(end, begin);
    if (stop == std::string::npos) {
      return false;
    }
    m_json.replace(begin, stop - begin, value);
    return true;
  }

  // Metadata padding sized so the header lands just under, on or over the 64 KiB mapping
  // threshold (8 + header), or far past it.
  bool pad_metadata() {
    static const size_t k_file_sizes[] = {65'535, 65'536, 65'537, 70'000, 140'000, 300'000};
    const size_t target = k_file_sizes[pick(std::size(k_file_sizes))] - 8;
    const std::string_view empty_pad = "\"pad\":\"\",";
    const size_t grow = m_json.size() + empty_pad.size() + 16;
    const std::string pad =
        "\"pad\":\"" + std::string(target > grow ? target - grow : pick(64), 'x') + "\",";
    size_t at = m_json.find("\"__metadata__\":{");
    if (at != std::string::npos) {
      m_json.insert(at + 16, pad);
    } else if (!m_json.empty() && m_json.front() == '{') {
      m_json.insert(1, "\"__metadata__\":{" + pad.substr(0, pad.size() - 1) + "},");
    } else {
      return false;
    }
    return true;
  }

  // One character of a tensor name written as a \u escape: valid JSON for the same name, which
  // the plain fast path leaves to the reference reader.
  bool escape_name() {
    const size_t end = find_random("\":{\"");
    if (end == std::string::npos) {
      return false;
    }
    const size_t begin = m_json.rfind('"', end - 1);
    if (begin == std::string::npos || begin + 1 >= end) {
      return false;
    }
    const size_t i = begin + 1 + pick(end - begin - 1);
    const auto c = static_cast<unsigned char>(m_json[i]);
    if (c == '\\' || c >= 0x80) {
      return false;
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    m_json.replace(i, 1, std::string("\\u00") + k_hex[c >> 4] + k_hex[c & 15]);
    return true;
  }

  // A tensor entry, "name":{...}, repeated under a new name or removed.
  bool copy_or_drop_tensor() {
    const size_t key_end = find_random("\":{\"");
    if (key_end == std::string::npos) {
      return false;
    }
    const size_t begin = m_json.rfind('"', key_end - 1);
    const size_t close = m_json.find('}', key_end);
    if (begin == std::string::npos || close == std::string::npos) {
      return false;
    }
    const std::string entry = m_json.substr(begin, close + 1 - begin);
    if (pick(2)) {
      m_json.insert(close + 1, "," + entry.substr(0, key_end - begin) + "_copy" +
                                   entry.substr(key_end - begin));
    } else {
      const bool comma_after = close + 1 < m_json.size() && m_json[close + 1] == ',';
      m_json.erase(begin, close + 1 - begin + (comma_after ? 1 : 0));
    }
    return true;
  }

  std::string& m_json;
  std::mt19937& m_rng;
};

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::mt19937 rng(seed);
  // Half the time, and for anything without a whole header, libFuzzer's own mutations.
  if (size >= 8 && rng() % 2 == 0) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) {
      n = n << 8 | data[i];
    }
    if (n <= size - 8) {
      std::string json(reinterpret_cast<const char*>(data) + 8, n);
      const std::string rest(reinterpret_cast<const char*>(data) + 8 + n, size - 8 - n);
      if (HeaderMutator(json, rng).mutate() && 8 + json.size() + rest.size() <= max_size) {
        for (size_t i = 0; i < 8; ++i) {
          data[i] = static_cast<uint8_t>((json.size() >> (8 * i)) & 0xff);
        }
        std::memcpy(data + 8, json.data(), json.size());
        std::memcpy(data + 8 + json.size(), rest.data(), rest.size());
        return 8 + json.size() + rest.size();
      }
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
#endif
