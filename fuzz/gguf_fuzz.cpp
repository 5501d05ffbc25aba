// Fuzzes the GGUF header reader: the span a remote reader asks for from growing prefixes, the
// parse, and the one-file model built on it (the config from the metadata, the counts).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/snapshot/gguf.hpp"

namespace {

// The reader's promises about a header it accepted.
void check_header(const mbuild::GgufHeader& h, uint64_t span) {
  if (h.header_bytes != span || h.data_offset < h.header_bytes ||
      h.data_offset % h.alignment != 0 || h.data_offset - h.header_bytes >= h.alignment) {
    std::abort();
  }
  uint64_t end = 0;
  for (const mbuild::TensorInfo& t : h.tensors) {
    const mbuild::GgmlType* type = mbuild::ggml_type(t.ggml_type);
    if (!type || t.end < t.begin || t.begin % h.alignment != 0) {
      std::abort();
    }
    const uint64_t row = t.shape.empty() ? 1 : t.shape.back();
    auto bytes = mbuild::ggml_tensor_bytes(*type, row, t.elements);
    if (!bytes || *bytes != t.end - t.begin) {
      std::abort();
    }
    end = std::max(end, t.end);
  }
  if (end != h.data_bytes) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The file is the input, or (half the time, by the last byte) the input as a header-only
  // prefix of a far larger file.
  const uint64_t file_size = size > 0 && (data[size - 1] & 1) ? size + (uint64_t{1} << 33) : size;

  auto parsed = mbuild::parse_gguf_header("fuzz.gguf", bytes, file_size);
  auto span = mbuild::gguf_header_span("fuzz.gguf", bytes, file_size);
  if (parsed) {
    if (!span || *span > size) {
      std::abort();  // parsed from these bytes, so the span is within them
    }
    check_header(*parsed, *span);
  } else if (parsed.error().why.empty() || parsed.error().what != "fuzz.gguf") {
    std::abort();
  }
  // From a short prefix, the span either fails or asks for more than the prefix holds; each
  // answer read again must grow until the whole header is in.
  uint64_t have = std::min<uint64_t>(size, 64);
  for (int step = 0; step < 64; ++step) {
    auto s = mbuild::gguf_header_span("fuzz.gguf", bytes.substr(0, have), file_size);
    if (!s) {
      break;
    }
    if (*s <= have) {
      if (span && *span != *s) {
        std::abort();
      }
      break;
    }
    if (have == size) {
      break;  // the input ends before the header: a truncated file
    }
    have = std::min<uint64_t>(*s, size);
  }
  if (parsed) {
    mbuild::Snapshot snap;
    snap.ref.id = "fuzz";
    snap.files.push_back(
        mbuild::WeightFile{"fuzz.gguf", file_size, mbuild::ByteBuffer::copy_of(bytes)});
    auto model = mbuild::build_model(std::move(snap));
    if (model) {
      const mbuild::Analysis a = mbuild::analyze(*model, {});
      if (a.params.stored_bytes != parsed->data_bytes && model->tensors.size() > 0) {
        uint64_t sum = 0;
        for (const mbuild::TensorInfo& t : model->tensors) {
          sum += t.end - t.begin;
        }
        if (sum != a.params.stored_bytes) {
          std::abort();
        }
      }
    } else if (model.error().why.empty()) {
      std::abort();
    }
  }
  return 0;
}
