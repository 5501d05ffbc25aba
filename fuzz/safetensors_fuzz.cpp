// Fuzzes the safetensors header reader and the one-file model built on it.
// An input starting with '{' is the header JSON: the 8-byte length is put in front of it and the
// file is header-only. Any other input is a whole file (length prefix, JSON, data region).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mbuild/model/model.hpp"
#include "mbuild/snapshot/safetensors.hpp"

namespace {

// The reader's promises about a header it accepted.
void check_header(const mbuild::SafetensorsHeader& header, uint64_t span) {
  uint64_t end = 0;
  for (const mbuild::TensorInfo& t : header.tensors) {
    if (t.end < t.begin || t.elements * mbuild::dtype_bits(t.dtype) / 8 != t.end - t.begin) {
      std::abort();
    }
    end = std::max(end, t.end);
    (void)mbuild::format_shape(t.shape);
  }
  if (end != header.data_bytes || header.header_length + 8 != span ||
      header.tensors.size() > mbuild::k_max_tensors_per_file) {
    std::abort();
  }
}

// The plain-JSON fast path must read exactly what the simdjson reader reads, or fall back to it:
// same tensors, metadata and findings, or the same error.
void check_same_as_reference(const mbuild::Result<mbuild::SafetensorsHeader>& fast,
                             const mbuild::Result<mbuild::SafetensorsHeader>& reference) {
  if (fast.has_value() != reference.has_value()) {
    std::abort();
  }
  if (!fast) {
    if (fast.error().message() != reference.error().message()) {
      std::abort();
    }
    return;
  }
  const auto& a = *fast;
  const auto& b = *reference;
  if (a.header_length != b.header_length || a.data_bytes != b.data_bytes ||
      a.tensors.size() != b.tensors.size() || a.metadata != b.metadata ||
      a.findings.size() != b.findings.size()) {
    std::abort();
  }
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const mbuild::TensorInfo& x = a.tensors[i];
    const mbuild::TensorInfo& y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.begin != y.begin || x.end != y.end ||
        x.elements != y.elements ||
        mbuild::format_shape(x.shape) != mbuild::format_shape(y.shape)) {
      std::abort();
    }
  }
  for (size_t i = 0; i < a.findings.size(); ++i) {
    if (a.findings[i].text != b.findings[i].text || a.findings[i].where != b.findings[i].where) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input.front() == '{') {
    uint64_t n = input.size();
    for (int i = 0; i < 8; ++i) {
      file += static_cast<char>((n >> (8 * i)) & 0xff);
    }
  }
  file += input;

  auto span = mbuild::safetensors_header_span("fuzz.safetensors", file, file.size());
  // The whole file in memory (the JSON copied out of it), then only the header's bytes
  // (parsed in place), as the local and Hub sources read them.
  auto whole =
      mbuild::parse_safetensors_header("fuzz.safetensors", std::string_view(file), file.size());
  if (!span) {
    if (whole) {
      std::abort();  // the parser accepted a length the span check rejects
    }
    return 0;
  }
  mbuild::ByteBuffer head = mbuild::ByteBuffer::copy_of(file);
  head.truncate(*span);
  auto in_place = mbuild::parse_safetensors_header("fuzz.safetensors", head, file.size());
  check_same_as_reference(
      in_place, mbuild::parse_safetensors_header_reference("fuzz.safetensors", head, file.size()));
  if (whole.has_value() != in_place.has_value() ||
      (!whole && whole.error().message() != in_place.error().message())) {
    std::abort();  // the two ways of reading the same bytes disagree
  }
  if (!whole) {
    return 0;
  }
  check_header(*whole, *span);

  // The same file as a one-file model: the per-model limits and the header-only note.
  mbuild::Snapshot snapshot;
  snapshot.ref.id = "fuzz";
  snapshot.files.push_back({"model.safetensors", file.size(), std::move(head)});
  (void)mbuild::build_model(std::move(snapshot));
  return 0;
}
