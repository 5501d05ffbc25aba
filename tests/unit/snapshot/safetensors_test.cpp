// The safetensors header reader against HUB_PROTOCOL.md §5 and "Bad inputs and faults".
#include "mbuild/snapshot/safetensors.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace mbuild;

namespace {

constexpr std::string_view k_file = "model-00001-of-00002.safetensors";

// Parses a header-only file (file size = 8 + N, as the corpus replicas are).
Result<SafetensorsHeader> parse_header_only(std::string_view header) {
  const std::string bytes = test::safetensors_bytes(header);
  return parse_safetensors_header(k_file, bytes, bytes.size());
}

// The 8-byte little-endian prefix for an arbitrary N.
std::string length_prefix(uint64_t n) {
  std::string out(8, '\0');
  for (size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  return out;
}

// Checks that a parse failed as bad input naming the file, with `fault` in the reason.
void require_bad_input(const Result<SafetensorsHeader>& r, std::string_view fault) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::bad_input);
  CHECK(r.error().what == k_file);
  INFO("why: " << r.error().why);
  CHECK(r.error().why.find(fault) != std::string::npos);
  CHECK(r.error().message().find(k_file) != std::string::npos);
}

std::string one_tensor(std::string_view entry) {
  return "{\"t\":" + std::string(entry) + "}";
}

}  // namespace

TEST_CASE("a valid header with __metadata__ is parsed with its tensors and metadata") {
  const std::string header = test::header_json(
      {{"model.embed_tokens.weight", "BF16", {4, 3}}, {"model.norm.weight", "F32", {3}}},
      {{"format", "pt"}});
  // 4 x 3 BF16 = 24 bytes, then 3 F32 = 12 bytes: a 36-byte data region.
  std::string bytes = test::safetensors_bytes(header) + std::string(36, '\x01');
  auto h = parse_safetensors_header(k_file, bytes, bytes.size());
  REQUIRE(h);
  CHECK(h->header_length == header.size());
  CHECK(h->data_bytes == 36);
  REQUIRE(h->metadata.size() == 1);
  CHECK(h->metadata[0] == std::pair<std::string, std::string>{"format", "pt"});
  REQUIRE(h->tensors.size() == 2);
  CHECK(h->tensors[0].name == "model.embed_tokens.weight");
  CHECK(h->tensors[0].dtype == Dtype::BF16);
  CHECK(h->tensors[0].shape == Shape{4, 3});
  CHECK(h->tensors[0].elements == 12);
  CHECK(h->tensors[0].begin == 0);
  CHECK(h->tensors[0].end == 24);
  CHECK(h->tensors[1].name == "model.norm.weight");
  CHECK(h->tensors[1].begin == 24);
  CHECK(h->tensors[1].end == 36);
  CHECK(h->findings.empty());
}

TEST_CASE("the header span is 8 + N") {
  const std::string bytes = test::safetensors_bytes("{}      ");
  auto span = safetensors_header_span(k_file, bytes, bytes.size());
  REQUIRE(span);
  CHECK(*span == 16);
}

TEST_CASE("every dtype the crate accepts is parsed with its bit width") {
  // HUB_PROTOCOL.md §5 table (the crate's Dtype::bitsize()).
  struct Case {
    const char* name;
    Dtype dtype;
    unsigned bits;
  };
  const std::vector<Case> cases = {
      {"F4", Dtype::F4, 4},
      {"F6_E2M3", Dtype::F6_E2M3, 6},
      {"F6_E3M2", Dtype::F6_E3M2, 6},
      {"BOOL", Dtype::BOOL, 8},
      {"U8", Dtype::U8, 8},
      {"I8", Dtype::I8, 8},
      {"F8_E5M2", Dtype::F8_E5M2, 8},
      {"F8_E4M3", Dtype::F8_E4M3, 8},
      {"F8_E8M0", Dtype::F8_E8M0, 8},
      {"F8_E4M3FNUZ", Dtype::F8_E4M3FNUZ, 8},
      {"F8_E5M2FNUZ", Dtype::F8_E5M2FNUZ, 8},
      {"I16", Dtype::I16, 16},
      {"U16", Dtype::U16, 16},
      {"F16", Dtype::F16, 16},
      {"BF16", Dtype::BF16, 16},
      {"I32", Dtype::I32, 32},
      {"U32", Dtype::U32, 32},
      {"F32", Dtype::F32, 32},
      {"I64", Dtype::I64, 64},
      {"U64", Dtype::U64, 64},
      {"F64", Dtype::F64, 64},
      {"C64", Dtype::C64, 64},
  };
  CHECK(cases.size() == static_cast<size_t>(k_dtype_count));
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CHECK(dtype_bits(c.dtype) == c.bits);
      CHECK(dtype_name(c.dtype) == c.name);
      // 8 elements of `bits` bits take exactly `bits` bytes.
      auto h = parse_header_only(one_tensor("{\"dtype\":\"" + std::string(c.name) +
                                            "\",\"shape\":[2,4],\"data_offsets\":[0," +
                                            std::to_string(c.bits) + "]}"));
      REQUIRE(h);
      REQUIRE(h->tensors.size() == 1);
      CHECK(h->tensors[0].dtype == c.dtype);
      CHECK(h->tensors[0].elements == 8);
      CHECK(h->data_bytes == c.bits);
    }
  }
}

TEST_CASE("a header-only file gives an info finding, not an error") {
  auto h = parse_header_only(test::header_json({{"w", "F32", {2, 2}}}));
  REQUIRE(h);
  REQUIRE(h->findings.size() == 1);
  CHECK(h->findings[0].severity == Severity::info);
  CHECK(h->findings[0].where == k_file);
  CHECK(h->findings[0].text.find("header-only") != std::string::npos);
}

TEST_CASE("a data region shorter or longer than the header says is a warning") {
  const std::string bytes = test::safetensors_bytes(test::header_json({{"w", "F32", {4}}}));
  SECTION("truncated") {
    auto h = parse_safetensors_header(k_file, bytes + std::string(8, '\0'), bytes.size() + 8);
    REQUIRE(h);
    REQUIRE(h->findings.size() == 1);
    CHECK(h->findings[0].severity == Severity::warning);
    CHECK(h->findings[0].text.find("truncated") != std::string::npos);
  }
  SECTION("trailing bytes") {
    auto h = parse_safetensors_header(k_file, bytes + std::string(20, '\0'), bytes.size() + 20);
    REQUIRE(h);
    REQUIRE(h->findings.size() == 1);
    CHECK(h->findings[0].severity == Severity::warning);
    CHECK(h->findings[0].text.find("4 bytes after") != std::string::npos);
  }
}

TEST_CASE("trailing space padding in the header is accepted") {
  auto h = parse_header_only(test::header_json({{"w", "F16", {3}}}) + "       ");
  REQUIRE(h);
  CHECK(h->tensors.size() == 1);
}

TEST_CASE("leading whitespace is accepted, as the crate's JSON reader does") {
  auto h = parse_header_only("  \n" + test::header_json({{"w", "F16", {3}}}));
  REQUIRE(h);
  CHECK(h->tensors.size() == 1);
}

TEST_CASE("a scalar shape [] counts one element") {
  auto h = parse_header_only(one_tensor(R"({"dtype":"F32","shape":[],"data_offsets":[0,4]})"));
  REQUIRE(h);
  CHECK(h->tensors[0].shape.empty());
  CHECK(h->tensors[0].elements == 1);
  CHECK(format_shape(h->tensors[0].shape) == "()");
}

TEST_CASE("zero-size tensors are accepted") {
  auto h = parse_header_only(R"({"empty":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},)"
                             R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})");
  REQUIRE(h);
  REQUIRE(h->tensors.size() == 2);
  CHECK(h->tensors[0].elements == 0);
  CHECK(h->data_bytes == 8);
}

TEST_CASE("extra fields in a tensor entry are ignored") {
  auto h = parse_header_only(one_tensor(
      R"({"dtype":"F16","note":{"x":[1,2]},"shape":[2],"data_offsets":[0,4],"extra":-1})"));
  REQUIRE(h);
  CHECK(h->tensors[0].elements == 2);
}

TEST_CASE("tensors in unsorted JSON order are accepted") {
  auto h = parse_header_only(R"({"second":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                             R"("first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})");
  REQUIRE(h);
  REQUIRE(h->tensors.size() == 2);
  CHECK(h->tensors[0].name == "second");  // header order is kept
  CHECK(h->data_bytes == 16);
}

TEST_CASE("shapes are formatted the way the CSV shows them") {
  CHECK(format_shape(Shape{8192, 8192}) == "(8192, 8192)");
  CHECK(format_shape(Shape{5}) == "(5,)");
  CHECK(format_shape(Shape{}) == "()");
}

// ---- bad inputs --------------------------------------------------------------------------

TEST_CASE("a file shorter than 8 bytes is bad input") {
  require_bad_input(parse_safetensors_header(k_file, std::string_view("\x05\0\0", 3), 3),
                    "shorter than the 8-byte header length");
}

TEST_CASE("an empty file is bad input") {
  require_bad_input(parse_safetensors_header(k_file, std::string_view(), 0), "file is 0 bytes");
}

TEST_CASE("a header length of 0 is bad input") {
  require_bad_input(parse_safetensors_header(k_file, length_prefix(0), 1000), "header length is 0");
}

TEST_CASE("a header length over 100,000,000 is bad input") {
  require_bad_input(parse_safetensors_header(k_file, length_prefix(100'000'001), uint64_t{1} << 40),
                    "exceeds the 100000000 byte limit");
  // Exactly the crate's MAX_HEADER_SIZE passes the cap (and fails later, on the missing bytes).
  auto at_cap = parse_safetensors_header(k_file, length_prefix(100'000'000), uint64_t{1} << 40);
  REQUIRE_FALSE(at_cap);
  CHECK(at_cap.error().why.find("exceeds") == std::string::npos);
}

TEST_CASE("a header length past the end of the file is bad input") {
  const std::string bytes = length_prefix(100) + std::string(42, ' ');
  require_bad_input(parse_safetensors_header(k_file, bytes, bytes.size()),
                    "runs past the end of the file (50 bytes)");
}

TEST_CASE("a header length with the top bit set is bad input, not an overflow") {
  // N + 8 would wrap around to 0x10 + 8 in u64 arithmetic.
  require_bad_input(parse_safetensors_header(k_file, length_prefix(0x8000'0000'0000'0010ULL), 4096),
                    "exceeds the 100000000 byte limit");
  require_bad_input(parse_safetensors_header(k_file, length_prefix(UINT64_MAX - 7), 4096),
                    "exceeds");
}

TEST_CASE("a header that is not JSON is bad input") {
  require_bad_input(parse_header_only("{not json at all}"), "not valid JSON");
}

TEST_CASE("a header that is not UTF-8 is bad input") {
  require_bad_input(parse_header_only("{\"w\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[1],"
                                      "\"data_offsets\":[0,4]}}"),
                    "UTF-8");
}

TEST_CASE("a header that is a JSON array is bad input") {
  require_bad_input(parse_header_only("[{\"dtype\":\"F32\"}]"), "not a JSON object");
}

TEST_CASE("a header starting with a byte-order mark is bad input") {
  require_bad_input(parse_header_only("\xEF\xBB\xBF" + test::header_json({{"w", "F32", {1}}})),
                    "byte-order mark");
}

TEST_CASE("a header padded with NUL bytes is bad input") {
  require_bad_input(
      parse_header_only(test::header_json({{"w", "F32", {1}}}) + std::string(4, '\0')),
      "NUL bytes");
}

TEST_CASE("__metadata__ with a non-string value is bad input") {
  require_bad_input(parse_header_only(R"({"__metadata__":{"format":"pt","step":100}})"),
                    "__metadata__ is not an object of strings");
  require_bad_input(parse_header_only(R"({"__metadata__":["pt"]})"),
                    "__metadata__ is not an object of strings");
}

TEST_CASE("a tensor entry missing dtype, shape or data_offsets is bad input") {
  require_bad_input(parse_header_only(one_tensor(R"({"shape":[1],"data_offsets":[0,4]})")),
                    "tensor 't': missing dtype");
  require_bad_input(parse_header_only(one_tensor(R"({"dtype":"F32","data_offsets":[0,4]})")),
                    "tensor 't': missing shape");
  require_bad_input(parse_header_only(one_tensor(R"({"dtype":"F32","shape":[1]})")),
                    "tensor 't': missing data_offsets");
}

TEST_CASE("a tensor entry that is not an object is bad input") {
  require_bad_input(parse_header_only(R"({"t":[0,4]})"), "tensor 't': entry is not an object");
}

TEST_CASE("an unknown dtype is bad input naming it") {
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F12","shape":[1],"data_offsets":[0,2]})")),
      "unknown dtype 'F12'");
}

TEST_CASE("negative or fractional dimensions are bad input") {
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})")),
      "shape is not a list of non-negative integers");
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,10]})")),
      "shape is not a list of non-negative integers");
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":"[2]","data_offsets":[0,8]})")),
      "shape is not a list of non-negative integers");
}

TEST_CASE("a dimension over 2^48 is bad input") {
  // 2^48 + 1 = 281474976710657.
  require_bad_input(parse_header_only(one_tensor(
                        R"({"dtype":"U8","shape":[281474976710657],"data_offsets":[0,1]})")),
                    "exceeds 2^48");
}

TEST_CASE("a shape whose element count overflows u64 is bad input") {
  // 2^48 x 2^48 = 2^96 elements.
  require_bad_input(parse_header_only(one_tensor(R"({"dtype":"U8","shape":[281474976710656,)"
                                                 R"(281474976710656],"data_offsets":[0,1]})")),
                    "overflows");
}

TEST_CASE("a shape whose bit count overflows u64 is bad input") {
  // 2^48 x 2^15 = 2^63 elements fit in u64; x 32 bits of F32 does not.
  require_bad_input(parse_header_only(one_tensor(
                        R"({"dtype":"F32","shape":[281474976710656,32768],"data_offsets":[0,1]})")),
                    "byte size overflows");
}

TEST_CASE("data_offsets of length 1 or 3 are bad input") {
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[4]})")),
      "data_offsets is not [BEGIN, END]");
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4,8]})")),
      "data_offsets is not [BEGIN, END]");
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0,-4]})")),
      "data_offsets is not [BEGIN, END]");
}

TEST_CASE("data_offsets with END before BEGIN are bad input") {
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[8,4]})")),
      "end 4 is before begin 8");
}

TEST_CASE("a gap between tensors is bad input") {
  require_bad_input(parse_header_only(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})"),
                    "leave a gap after the previous tensor (expected begin 8)");
}

TEST_CASE("overlapping tensors are bad input") {
  require_bad_input(parse_header_only(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})"),
                    "overlap the previous tensor");
}

TEST_CASE("a first tensor not starting at offset 0 is bad input") {
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})")),
      "do not start at 0");
}

TEST_CASE("data_offsets not matching the shape's byte size are bad input") {
  // 2 x F32 = 8 bytes, not 12.
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,12]})")),
      "needs 8 bytes, data_offsets span 12");
}

TEST_CASE("F4 with an odd element count is bad input") {
  // 3 x 4 bits = 12 bits: not a whole number of bytes.
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})")),
      "3 elements of F4 do not fill whole bytes");
  // F6 needs a multiple of 4 elements: 2 x 6 = 12 bits.
  require_bad_input(
      parse_header_only(one_tensor(R"({"dtype":"F6_E2M3","shape":[2],"data_offsets":[0,2]})")),
      "do not fill whole bytes");
}

TEST_CASE("duplicate tensor names are bad input") {
  require_bad_input(parse_header_only(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})"),
                    "tensor 'w' appears twice");
}

TEST_CASE("a rank over the limit is bad input") {
  // k_max_rank (10) ones are fine; eleven are not.
  std::string dims = "1";
  for (size_t i = 1; i < k_max_rank; ++i) {
    dims += ",1";
  }
  auto ok = parse_header_only(
      one_tensor(R"({"dtype":"F32","shape":[)" + dims + R"(],"data_offsets":[0,4]})"));
  REQUIRE(ok);
  CHECK(ok->tensors[0].shape.size() == k_max_rank);
  require_bad_input(parse_header_only(one_tensor(R"({"dtype":"F32","shape":[)" + dims +
                                                 R"(,1],"data_offsets":[0,4]})")),
                    "rank exceeds 10");
}

TEST_CASE("a header shorter than its declared length is bad input") {
  // N says 64 bytes, the file is long enough, but only 20 header bytes were handed over.
  const std::string bytes = length_prefix(64) + std::string(12, ' ');
  require_bad_input(parse_safetensors_header(k_file, bytes, 1000), "only 20 were read");
}

// The plain-JSON fast path against the simdjson reader (fuzz/safetensors_fuzz.cpp holds the two
// to the same on mutated input; here on every real header of the corpus).
TEST_CASE("every corpus header reads the same through the fast path and the reference reader") {
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(test::corpus_dir())) {
    if (entry.path().extension() != ".safetensors") {
      continue;
    }
    ++files;
    INFO(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const ByteBuffer buffer = ByteBuffer::copy_of(bytes);
    auto fast = parse_safetensors_header("f.safetensors", buffer, bytes.size());
    auto reference = parse_safetensors_header_reference("f.safetensors", buffer, bytes.size());
    REQUIRE(fast);
    REQUIRE(reference);
    REQUIRE(fast->tensors.size() == reference->tensors.size());
    CHECK(fast->metadata == reference->metadata);
    CHECK(fast->data_bytes == reference->data_bytes);
    for (size_t i = 0; i < fast->tensors.size(); ++i) {
      const TensorInfo& a = fast->tensors[i];
      const TensorInfo& b = reference->tensors[i];
      REQUIRE(a.name == b.name);
      CHECK((a.dtype == b.dtype && a.begin == b.begin && a.end == b.end &&
             format_shape(a.shape) == format_shape(b.shape)));
    }
  }
  CHECK(files >= 21);
}

TEST_CASE("the fallback reader reads bytes whose only owner is a temporary") {
  // The model builder hands a mapped header over in a temporary shared_ptr. When the plain fast
  // path declines (here: an escaped name, and an unknown dtype), the reference reader must still
  // read those bytes; it once read them after the fast path's store, then their last owner, was
  // dropped (issue 18). The caller's reference now owns them for the whole call.
  for (const std::string_view header :
       {R"({"model.norm.weigh\u0074":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})",
        R"({"model.norm.weight":{"dtype":"Q17","shape":[2],"data_offsets":[0,4]}})"}) {
    const std::string bytes = test::safetensors_bytes(header);
    auto parsed = parse_safetensors_header(
        k_file, std::make_shared<const ByteBuffer>(ByteBuffer::copy_of(bytes)), bytes.size(), {});
    if (header.find("Q17") != std::string_view::npos) {
      require_bad_input(parsed, "unknown dtype 'Q17'");
    } else {
      REQUIRE(parsed.has_value());
      REQUIRE(parsed->tensors.size() == 1);
      CHECK(parsed->tensors[0].name == "model.norm.weight");
    }
  }
}
