// Writes GGUF headers for tests and fuzz seeds: metadata and tensor infos laid out as llama.cpp's
// gguf writer lays them out (little-endian, tensor data aligned), without the tensor data (a
// header-only file, like the safetensors replicas of the corpus). Independent of the library:
// its block sizes are written out here from ggml's block structs (ggml-common.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace mbuild::test {

// ggml type ids and (weights per block, bytes per block) of the types the tests use.
struct GgufTestType {
  uint32_t id;
  uint64_t block;
  uint64_t bytes;
};
inline constexpr GgufTestType k_f32{0, 1, 4};
inline constexpr GgufTestType k_f16{1, 1, 2};
inline constexpr GgufTestType k_q8_0{8, 32, 34};     // half scale + 32 int8
inline constexpr GgufTestType k_q4_k{12, 256, 144};  // 2 halves + 12 scale bytes + 128 nibbles
inline constexpr GgufTestType k_q6_k{14, 256, 210};  // 128 low + 64 high + 16 scales + half
inline constexpr GgufTestType k_bf16{30, 1, 2};

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3) : m_version(version) {}

  void u16(std::string_view key, uint16_t v) { scalar(key, 2, &v, 2); }
  void u32(std::string_view key, uint32_t v) { scalar(key, 4, &v, 4); }
  void i32(std::string_view key, int32_t v) { scalar(key, 5, &v, 4); }
  void u64(std::string_view key, uint64_t v) { scalar(key, 10, &v, 8); }
  void f32(std::string_view key, float v) { scalar(key, 6, &v, 4); }
  void boolean(std::string_view key, bool v) {
    const uint8_t b = v ? 1 : 0;
    scalar(key, 7, &b, 1);
  }
  void str(std::string_view key, std::string_view v) {
    put_string(m_kv, key);
    put(m_kv, uint32_t{8});
    put_string(m_kv, v);
    ++m_kv_count;
  }
  // An array of `n` strings "t0", "t1", ... (a tokenizer's token list), each padded with 'x'
  // to `width` bytes when it is shorter (a vocabulary or merge list of a real size).
  void string_array(std::string_view key, uint64_t n, size_t width = 0) {
    put_string(m_kv, key);
    put(m_kv, uint32_t{9});
    put(m_kv, uint32_t{8});
    put(m_kv, n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string s = "t" + std::to_string(i);
      if (s.size() < width) {
        s.resize(width, 'x');
      }
      put_string(m_kv, s);
    }
    ++m_kv_count;
  }
  void i32_array(std::string_view key, const std::vector<int32_t>& v) {
    put_string(m_kv, key);
    put(m_kv, uint32_t{9});
    put(m_kv, uint32_t{5});
    put(m_kv, uint64_t{v.size()});
    for (int32_t x : v) {
      put(m_kv, x);
    }
    ++m_kv_count;
  }
  // Raw bytes appended to the metadata section (for malformed headers); `entries` is how many
  // key/value pairs they count as.
  void raw_kv(std::string_view bytes, uint64_t entries) {
    m_kv += bytes;
    m_kv_count += entries;
  }

  // A tensor of ggml shape `ne` (ne[0] innermost), placed after the previous one at the
  // alignment. Returns its bytes.
  uint64_t tensor(std::string_view name, std::vector<uint64_t> ne, GgufTestType type) {
    uint64_t elements = 1;
    for (uint64_t d : ne) {
      elements *= d;
    }
    const uint64_t bytes = elements / type.block * type.bytes;
    m_offset = (m_offset + m_alignment - 1) / m_alignment * m_alignment;
    tensor_at(name, ne, type.id, m_offset);
    m_offset += bytes;
    m_specs.push_back({std::string(name), std::move(ne), type});
    return bytes;
  }

  // The file as llama.cpp's gguf-split writes it in `parts` parts: the first keeps every
  // metadata entry, each gets split.no and split.count (uint16) and split.tensors.count (int32)
  // and its share of the tensors in order, offsets from its own data start. Tensors added with
  // tensor() only.
  std::vector<GgufWriter> split(size_t parts) const {
    std::vector<GgufWriter> out(parts, GgufWriter(m_version));
    const size_t per = (m_specs.size() + parts - 1) / parts;
    for (size_t p = 0; p < parts; ++p) {
      GgufWriter& w = out[p];
      if (p == 0) {
        w.m_kv = m_kv;
        w.m_kv_count = m_kv_count;
      }
      w.u16("split.no", static_cast<uint16_t>(p));
      w.u16("split.count", static_cast<uint16_t>(parts));
      w.i32("split.tensors.count", static_cast<int32_t>(m_specs.size()));
      for (size_t i = p * per; i < std::min(m_specs.size(), (p + 1) * per); ++i) {
        w.tensor(m_specs[i].name, m_specs[i].ne, m_specs[i].type);
      }
    }
    return out;
  }
  // A tensor info with every field as given (for malformed headers).
  void tensor_at(std::string_view name, const std::vector<uint64_t>& ne, uint32_t type_id,
                 uint64_t offset) {
    put_string(m_tensors, name);
    put(m_tensors, static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) {
      put(m_tensors, d);
    }
    put(m_tensors, type_id);
    put(m_tensors, offset);
    ++m_tensor_count;
  }
  void alignment(uint32_t a) {
    m_alignment = a;
    u32("general.alignment", a);
  }

  // The header: magic, version, counts, metadata, tensor infos, padding to the alignment.
  std::string header() const {
    std::string out = "GGUF";
    put(out, m_version);
    put(out, m_tensor_count);
    put(out, m_kv_count);
    out += m_kv;
    out += m_tensors;
    while (out.size() % m_alignment != 0) {
      out += '\0';
    }
    return out;
  }
  // Bytes of tensor data the infos describe (the end of the last tensor).
  uint64_t data_bytes() const { return m_offset; }

 private:
  template <class T>
  static void put(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
  }
  static void put_string(std::string& out, std::string_view s) {
    put(out, uint64_t{s.size()});
    out += s;
  }
  void scalar(std::string_view key, uint32_t type, const void* v, size_t n) {
    put_string(m_kv, key);
    put(m_kv, type);
    m_kv.append(static_cast<const char*>(v), n);
    ++m_kv_count;
  }

  struct TensorSpec {
    std::string name;
    std::vector<uint64_t> ne;
    GgufTestType type;
  };

  uint32_t m_version;
  std::vector<TensorSpec> m_specs;  // what tensor() added, for split()
  uint64_t m_alignment = 32;
  uint64_t m_kv_count = 0, m_tensor_count = 0;
  std::string m_kv, m_tensors;
  uint64_t m_offset = 0;
};

// Llama-3-8B-Instruct as llama.cpp's Q4_K_M writes it (291 tensors). The types follow
// llama.cpp's quantize rule for Q4_K_M ("Uses Q6_K for half of the attention.wv and
// feed_forward.w2 tensors, else Q4_K", llama-quant.cpp use_more_bits: layers i < n/8,
// i >= 7n/8, and (i - n/8) % 3 == 2), output.weight Q6_K, 1-D norms F32; shapes from
// meta-llama/Meta-Llama-3-8B-Instruct config.json (hidden 4096, 32 layers, 32 heads / 8 kv,
// ffn 14336, vocab 128256, untied).
inline bool q4_k_m_more_bits(uint64_t i, uint64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

inline GgufWriter llama3_8b_q4_k_m(bool with_tokens = true) {
  GgufWriter w(3);
  w.str("general.architecture", "llama");
  w.str("general.name", "Meta-Llama-3-8B-Instruct");
  w.u32("llama.block_count", 32);
  w.u32("llama.context_length", 8192);
  w.u32("llama.embedding_length", 4096);
  w.u32("llama.feed_forward_length", 14336);
  w.u32("llama.attention.head_count", 32);
  w.u32("llama.attention.head_count_kv", 8);
  w.f32("llama.rope.freq_base", 500000.0F);
  w.f32("llama.attention.layer_norm_rms_epsilon", 1e-5F);
  w.u32("general.file_type", 15);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  w.u32("llama.rope.dimension_count", 128);
  w.str("tokenizer.ggml.model", "gpt2");
  if (with_tokens) {
    w.string_array("tokenizer.ggml.tokens", 128256);
  } else {
    w.u32("llama.vocab_size", 128256);
  }
  w.u32("general.quantization_version", 2);
  w.tensor("token_embd.weight", {4096, 128256}, k_q4_k);
  for (uint64_t i = 0; i < 32; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const bool more = q4_k_m_more_bits(i, 32);
    w.tensor(b + "attn_norm.weight", {4096}, k_f32);
    w.tensor(b + "attn_q.weight", {4096, 4096}, k_q4_k);
    w.tensor(b + "attn_k.weight", {4096, 1024}, k_q4_k);
    w.tensor(b + "attn_v.weight", {4096, 1024}, more ? k_q6_k : k_q4_k);
    w.tensor(b + "attn_output.weight", {4096, 4096}, k_q4_k);
    w.tensor(b + "ffn_norm.weight", {4096}, k_f32);
    w.tensor(b + "ffn_gate.weight", {4096, 14336}, k_q4_k);
    w.tensor(b + "ffn_up.weight", {4096, 14336}, k_q4_k);
    w.tensor(b + "ffn_down.weight", {14336, 4096}, more ? k_q6_k : k_q4_k);
  }
  w.tensor("output_norm.weight", {4096}, k_f32);
  w.tensor("output.weight", {4096, 128256}, k_q6_k);
  return w;
}

// Qwen3-30B-A3B as llama.cpp's Q4_K_M writes it: 48 layers of 128 experts (top 8) as 3-D
// ffn_*_exps tensors, the router ffn_gate_inp F32 (llama.cpp never quantizes it), q/k norms;
// shapes from Qwen/Qwen3-30B-A3B config.json (hidden 2048, 32 heads / 4 kv of 128, expert ffn
// 768, vocab 151936, untied). Types by the same Q4_K_M rule as above.
inline GgufWriter qwen3_30b_a3b_q4_k_m() {
  GgufWriter w(3);
  w.str("general.architecture", "qwen3moe");
  w.u32("qwen3moe.block_count", 48);
  w.u32("qwen3moe.context_length", 40960);
  w.u32("qwen3moe.embedding_length", 2048);
  w.u32("qwen3moe.feed_forward_length", 6144);
  w.u32("qwen3moe.attention.head_count", 32);
  w.u32("qwen3moe.attention.head_count_kv", 4);
  w.u32("qwen3moe.attention.key_length", 128);
  w.u32("qwen3moe.attention.value_length", 128);
  w.f32("qwen3moe.rope.freq_base", 1000000.0F);
  w.f32("qwen3moe.attention.layer_norm_rms_epsilon", 1e-6F);
  w.u32("qwen3moe.expert_count", 128);
  w.u32("qwen3moe.expert_used_count", 8);
  w.u32("qwen3moe.expert_feed_forward_length", 768);
  w.string_array("tokenizer.ggml.tokens", 151936);
  w.tensor("token_embd.weight", {2048, 151936}, k_q4_k);
  for (uint64_t i = 0; i < 48; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const bool more = q4_k_m_more_bits(i, 48);
    w.tensor(b + "attn_norm.weight", {2048}, k_f32);
    w.tensor(b + "attn_q.weight", {2048, 4096}, k_q4_k);
    w.tensor(b + "attn_k.weight", {2048, 512}, k_q4_k);
    w.tensor(b + "attn_v.weight", {2048, 512}, more ? k_q6_k : k_q4_k);
    w.tensor(b + "attn_output.weight", {4096, 2048}, k_q4_k);
    w.tensor(b + "attn_q_norm.weight", {128}, k_f32);
    w.tensor(b + "attn_k_norm.weight", {128}, k_f32);
    w.tensor(b + "ffn_norm.weight", {2048}, k_f32);
    w.tensor(b + "ffn_gate_inp.weight", {2048, 128}, k_f32);
    w.tensor(b + "ffn_gate_exps.weight", {2048, 768, 128}, k_q4_k);
    w.tensor(b + "ffn_up_exps.weight", {2048, 768, 128}, k_q4_k);
    w.tensor(b + "ffn_down_exps.weight", {768, 2048, 128}, more ? k_q6_k : k_q4_k);
  }
  w.tensor("output_norm.weight", {2048}, k_f32);
  w.tensor("output.weight", {2048, 151936}, k_q6_k);
  return w;
}

}  // namespace mbuild::test
