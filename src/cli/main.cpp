// mbuild: registers the subcommands and maps every outcome to an exit code.
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <utility>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace {

constexpr const char* k_exit_codes =
    "Exit codes:\n"
    "  0  success (validate: every check passed; lint-config: no errors)\n"
    "  1  validate: at least one check failed; lint-config: at least one error\n"
    "  2  usage error\n"
    "  3  bad input: malformed or inconsistent config, index, header or contract\n"
    "  4  not found: repo, revision or file\n"
    "  5  access denied: gated or private repo, bad or missing token\n"
    "  6  network: timeout, connection failure, 5xx/429 after retries, offline miss\n"
    "  7  out of memory or another system resource\n";

// Out of memory (std::bad_alloc, or std::length_error: a size no allocation can hold) is the
// machine's limit, not a fault of the input: one line and exit 7, never "bad input".
int out_of_memory(const std::exception& e) {
  std::fprintf(stderr, "mbuild: error: out of memory: %s\n", e.what());
  return mbuild::cli::k_exit_out_of_memory;
}

// A page fault costs ~11 us on the machines we measure (a VM: the trap dominates), and a large
// model's tables are tens of megabytes: thousands of faults. The heap is grown by 64 MB at once
// and that range is marked for transparent huge pages, so the tables fault in 2 MB at a time
// (~0.75 us per 4 KiB). Without THP (or under a sanitizer's allocator) nothing changes.
void use_huge_pages_for_heap() {
#if defined(MADV_HUGEPAGE)
  constexpr uintptr_t k_huge = uintptr_t{2} << 20;
  constexpr size_t k_grow = size_t{64} * 1024 * 1024;
  mallopt(M_TOP_PAD, k_grow);
  // Larger than the free top of the heap: the heap grows (by k_grow more), and the block is
  // given back to the top at once, untouched but for its header.
  const auto before = reinterpret_cast<uintptr_t>(::sbrk(0));
  void* first = std::malloc(k_grow / 2);
  const auto at = reinterpret_cast<uintptr_t>(first);
  const auto after = reinterpret_cast<uintptr_t>(::sbrk(0));
  std::free(first);
  // Only when the block came from the break (not from a sanitizer's or another allocator).
  const uintptr_t from = (at + k_huge - 1) & ~(k_huge - 1);
  const uintptr_t to = after & ~(k_huge - 1);
  if (first != nullptr && after > before && at < after && at + k_grow >= before && to > from) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): an address rounded to a huge-page boundary
    ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
  }
#endif
}

int run(int argc, char** argv) {
  // One arena and no mmap for large blocks: freed header buffers are reused for the tensor
  // table instead of returned to the kernel and faulted in again (a third of the run time on
  // a 76k-tensor model).
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  use_huge_pages_for_heap();
  CLI::App app{
      "mbuild: model configs and gap reports from Hugging Face models, read from "
      "config.json and safetensors headers"};
  app.set_version_flag("--version", "mbuild " MBUILD_VERSION);
  app.footer(k_exit_codes);
  app.require_subcommand(1);
  int exit_code = 0;
  mbuild::cli::setup_inspect(app, exit_code);
  mbuild::cli::setup_validate(app, exit_code);
  mbuild::cli::setup_emit_config(app, exit_code);
  mbuild::cli::setup_lint_config(app, exit_code);
  mbuild::cli::setup_emit_contract(app, exit_code);
  try {
    mbuild::cli::Environment env = mbuild::cli::Environment::from_process();
    env.fd_limit = mbuild::cli::raise_fd_limit();
    mbuild::cli::set_environment(std::move(env));
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error; CLI11's own text names the flag and the fault.
    std::fprintf(stderr, "mbuild: error: %s (see mbuild --help)\n", e.what());
    return 2;
  } catch (const std::bad_alloc& e) {
    return out_of_memory(e);
  } catch (const std::length_error& e) {
    return out_of_memory(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mbuild: error: %s\n", e.what());
    return 3;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Setting up the commands allocates too.
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc& e) {
    return out_of_memory(e);
  } catch (const std::length_error& e) {
    return out_of_memory(e);
  }
}
