// The GGUF header reader: the ggml type table, headers of real models' tensor lists (written
// by tests/gguf_writer.hpp), the span a remote reader needs, and malformed headers.
#include "mbuild/snapshot/gguf.hpp"

#include <map>

#include <catch2/catch.hpp>

#include "gguf_writer.hpp"

namespace mbuild {
namespace {

using test::GgufWriter;

std::map<std::string, uint64_t> bytes_by_type(const GgufHeader& h) {
  std::map<std::string, uint64_t> out;
  for (const TensorInfo& t : h.tensors) {
    out[std::string(tensor_dtype_name(t))] += t.end - t.begin;
  }
  return out;
}

std::string error_of(const std::string& bytes, uint64_t file_size = 0) {
  auto h = parse_gguf_header("m.gguf", bytes, file_size ? file_size : bytes.size());
  REQUIRE_FALSE(h);
  CHECK(h.error().kind == ErrorKind::bad_input);
  CHECK(h.error().what == "m.gguf");
  return h.error().why;
}

TEST_CASE("ggml types: block sizes and bytes per block as ggml defines them") {
  // ggml-common.h: block_q4_K = 2 halves + 12 scale bytes + 128 nibble bytes per 256 weights.
  REQUIRE(ggml_type(12) != nullptr);
  CHECK(ggml_type(12)->name == "Q4_K");
  CHECK(ggml_type(12)->bits_per_weight() == Approx(4.5));
  CHECK(ggml_type(14)->bits_per_weight() == Approx(6.5625));  // Q6_K: 210 bytes / 256
  CHECK(ggml_type(8)->bits_per_weight() == Approx(8.5));      // Q8_0: 34 bytes / 32
  CHECK(ggml_type(39)->name == "MXFP4");                      // GGML_TYPE_MXFP4 = 39
  CHECK(ggml_type(39)->type_size == 17);
  CHECK(ggml_type(30)->name == "BF16");
  CHECK(ggml_type(34)->type_size == 54);  // TQ1_0: 48 + 4 + 2
  CHECK(ggml_type(4) == nullptr);         // Q4_2: removed
  CHECK(ggml_type(31) == nullptr);        // Q4_0_4_4: removed from GGUF files
  CHECK(ggml_type(1000) == nullptr);
  CHECK(ggml_type_by_name("q4_k") == ggml_type(12));
  CHECK_FALSE(ggml_tensor_bytes(*ggml_type(12), 100, 100));  // not a whole block
  CHECK(*ggml_tensor_bytes(*ggml_type(12), 4096, 4096 * 2) == 2 * 16 * 144);
}

TEST_CASE("gguf: Llama-3-8B Q4_K_M: 291 tensors, per-type bytes sum to the data size") {
  const GgufWriter w = test::llama3_8b_q4_k_m();
  const std::string bytes = w.header();
  auto h = parse_gguf_header("llama.gguf", bytes, bytes.size());
  REQUIRE(h);
  CHECK(h->version == 3);
  CHECK(h->alignment == 32);
  CHECK(h->tensors.size() == 291);
  CHECK(h->get_string("general.architecture") == "llama");
  CHECK(h->find("tokenizer.ggml.tokens")->array_length == 128256);
  CHECK(h->data_offset == bytes.size());
  // By hand: Q4_K holds 6,498,025,472 weights (token_embd 525,336,576 + 32 x (q 16,777,216 +
  // k 4,194,304 + o 16,777,216 + gate, up 2 x 58,720,256) + 16 x (v 4,194,304 + down
  // 58,720,256)) at 144 bytes per 256; Q6_K 1,531,969,536 (output 525,336,576 + the other 16
  // v and down) at 210 per 256; F32 266,240 norm weights at 4.
  const auto by_type = bytes_by_type(*h);
  CHECK(by_type.at("Q4_K") == 3'655'139'328);
  CHECK(by_type.at("Q6_K") == 1'256'693'760);
  CHECK(by_type.at("F32") == 1'064'960);
  CHECK(h->data_bytes == 3'655'139'328 + 1'256'693'760 + 1'064'960);
  CHECK(h->data_bytes == w.data_bytes());
  // Header-only: noted, not refused.
  REQUIRE(h->findings.size() == 1);
  CHECK(h->findings[0].text.starts_with("header-only file"));
  // ggml's ne is innermost first: the shape reads like safetensors', rows first.
  CHECK(h->tensors[0].name == "token_embd.weight");
  CHECK(h->tensors[0].shape == Shape{128256, 4096});
  CHECK(h->tensors[0].elements == 525'336'576);
}

TEST_CASE("gguf: version 2 reads like version 3") {
  GgufWriter w(2);
  w.str("general.architecture", "llama");
  w.tensor("a.weight", {32, 2}, test::k_q8_0);
  auto h = parse_gguf_header("v2.gguf", w.header(), w.header().size() + w.data_bytes());
  REQUIRE(h);
  CHECK(h->version == 2);
  CHECK(h->data_bytes == 68);
  CHECK(h->findings.empty());  // the data region is there
}

TEST_CASE("gguf: general.alignment moves the data offset and is checked on tensor offsets") {
  GgufWriter w;
  w.alignment(64);
  w.tensor("a", {16}, test::k_f32);
  w.tensor("b", {16}, test::k_f32);
  auto h = parse_gguf_header("a.gguf", w.header(), w.header().size());
  REQUIRE(h);
  CHECK(h->alignment == 64);
  CHECK(h->data_offset % 64 == 0);
  CHECK(h->tensors[1].begin == 64);
}

TEST_CASE("gguf: the header span, measured from growing prefixes") {
  const std::string bytes = test::llama3_8b_q4_k_m().header();
  const uint64_t file_size = bytes.size() + 4'912'898'048ULL;
  auto full = gguf_header_span("f", bytes, file_size);
  REQUIRE(full);
  auto parsed = parse_gguf_header("f", bytes, file_size);
  REQUIRE(parsed);
  CHECK(*full == parsed->header_bytes);
  // From a small first read, each answer asks for more until the whole header is in; the
  // estimate from the token array's bytes so far reaches it in few steps.
  uint64_t have = 64 * 1024;
  int reads = 1;
  for (;;) {
    auto span = gguf_header_span("f", std::string_view(bytes).substr(0, have), file_size);
    REQUIRE(span);
    if (*span <= have) {
      CHECK(*span == *full);
      break;
    }
    CHECK(*span > have);
    have = std::min<uint64_t>(*span, bytes.size());
    ++reads;
    REQUIRE(reads < 10);
  }
  CHECK(reads <= 3);
  // Fewer than the magic's bytes: ask for more.
  CHECK(*gguf_header_span("f", "GG", file_size) > 2);
  CHECK_FALSE(gguf_header_span("f", "ABCD1234", file_size));
}

TEST_CASE("gguf: a read that stops in the tensor infos asks for the rest in one more read") {
  // A split part after the first: split.* keys and tensor infos only (Qwen3-30B-A3B's last
  // third, 193 infos whose names grow longer than the first ones).
  const std::string bytes = test::qwen3_30b_a3b_q4_k_m().split(3)[2].header();
  const uint64_t file_size = bytes.size() + (uint64_t{1} << 30);
  auto full = gguf_header_span("f", bytes, file_size);
  REQUIRE(full);
  for (uint64_t have : {uint64_t{200}, uint64_t{2'000}, bytes.size() / 2, *full - 1}) {
    INFO("first read of " << have << " bytes");
    auto span = gguf_header_span("f", std::string_view(bytes).substr(0, have), file_size);
    REQUIRE(span);
    CHECK(*span >= *full);
  }
}

TEST_CASE("gguf: malformed headers fail naming the file and the fault") {
  SECTION("bad magic") {
    CHECK_THAT(error_of("GGUX" + std::string(20, '\0')), Catch::Contains("magic"));
  }
  SECTION("truncated header") {
    GgufWriter w;
    w.str("tokenizer.chat_template", std::string(1000, 'x'));
    std::string bytes = w.header();
    bytes.resize(200);  // cut inside the template
    CHECK_THAT(error_of(bytes), Catch::Contains("truncated"));
  }
  SECTION("a metadata count the file cannot hold") {
    GgufWriter w;
    w.raw_kv("", 1'000'000);
    CHECK_THAT(error_of(w.header()), Catch::Contains("cannot fit"));
  }
  SECTION("an absurd array length") {
    GgufWriter w;
    std::string kv;
    const std::string key = "tokenizer.ggml.tokens";
    const uint64_t n = key.size();
    kv.append(reinterpret_cast<const char*>(&n), 8);
    kv += key;
    const uint32_t array = 9, string = 8;
    const uint64_t length = uint64_t{1} << 40;
    kv.append(reinterpret_cast<const char*>(&array), 4);
    kv.append(reinterpret_cast<const char*>(&string), 4);
    kv.append(reinterpret_cast<const char*>(&length), 8);
    w.raw_kv(kv, 1);
    CHECK_THAT(error_of(w.header()), Catch::Contains("tokenizer.ggml.tokens"));
  }
  SECTION("an unknown ggml type id") {
    GgufWriter w;
    w.tensor_at("blk.0.attn_q.weight", {256, 2}, 77, 0);
    CHECK_THAT(error_of(w.header()), Catch::Contains("unknown ggml type id 77"));
  }
  SECTION("a misaligned tensor offset") {
    GgufWriter w;
    w.tensor_at("a", {8}, 0, 0);
    w.tensor_at("b", {8}, 0, 40);
    CHECK_THAT(error_of(w.header()), Catch::Contains("not a multiple of the alignment 32"));
  }
  SECTION("overlapping tensors") {
    GgufWriter w;
    w.tensor_at("a", {64}, 0, 0);  // 256 bytes
    w.tensor_at("b", {8}, 0, 128);
    CHECK_THAT(error_of(w.header()), Catch::Contains("overlaps"));
  }
  SECTION("a row that is not a whole number of blocks") {
    GgufWriter w;
    w.tensor_at("a", {100, 2}, 12, 0);
    CHECK_THAT(error_of(w.header()), Catch::Contains("whole number of Q4_K blocks"));
  }
  SECTION("too many dimensions") {
    GgufWriter w;
    w.tensor_at("a", {1, 1, 1, 1, 1}, 0, 0);
    CHECK_THAT(error_of(w.header()), Catch::Contains("5 dimensions"));
  }
  SECTION("version 1 and unknown versions") {
    std::string bytes = test::GgufWriter().header();
    bytes[4] = 1;
    CHECK_THAT(error_of(bytes), Catch::Contains("version 1"));
    bytes[4] = 9;
    CHECK_THAT(error_of(bytes), Catch::Contains("unknown GGUF version 9"));
  }
  SECTION("an empty tensor name (fuzz/regressions/gguf/empty-tensor-name)") {
    GgufWriter w;
    w.tensor_at("", {8}, 0, 0);
    CHECK_THAT(error_of(w.header()), Catch::Contains("empty name"));
  }
  SECTION("a tensor name or key that is not UTF-8") {
    GgufWriter w;
    w.tensor_at("blk.\xfe.weight", {8}, 0, 0);
    CHECK_THAT(error_of(w.header()), Catch::Contains("not UTF-8"));
    GgufWriter k;
    k.u32("bad\xc3", 1);
    CHECK_THAT(error_of(k.header()), Catch::Contains("not UTF-8"));
  }
  SECTION("a duplicated key") {
    GgufWriter w;
    w.u32("a", 1);
    w.u32("a", 2);
    CHECK_THAT(error_of(w.header()), Catch::Contains("appears twice"));
  }
  SECTION("an alignment that is not a power of two") {
    GgufWriter w;
    w.u32("general.alignment", 48);
    CHECK_THAT(error_of(w.header()), Catch::Contains("power of two"));
  }
}

TEST_CASE("gguf: a string value that is not UTF-8 is kept with U+FFFD for each bad byte") {
  // fuzz/regressions/gguf/architecture-not-utf8: such a value reached the JSON writer.
  GgufWriter w;
  w.str("general.architecture",
        "ll\xfe"
        "ama");
  auto h = parse_gguf_header("a.gguf", w.header(), w.header().size());
  REQUIRE(h);
  CHECK(h->get_string("general.architecture") ==
        "ll\xef\xbf\xbd"
        "ama");
}

TEST_CASE("gguf: split file names") {
  auto s = gguf_split_name("Llama-3.1-70B-Q4_K_M-00001-of-00002.gguf");
  REQUIRE(s);
  CHECK(s->stem == "Llama-3.1-70B-Q4_K_M");
  CHECK(s->part == 1);
  CHECK(s->count == 2);
  CHECK_FALSE(gguf_split_name("model-Q4_K_M.gguf"));
  CHECK_FALSE(gguf_split_name("m-00003-of-00002.gguf"));
}

}  // namespace
}  // namespace mbuild
