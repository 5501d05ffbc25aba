#include "cli/hub_module.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>

#include <fmt/format.h>

namespace mbuild::cli {
namespace fs = std::filesystem;

namespace {

Result<const hub::ModuleApi*> load_module() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return tl::unexpected(Error{ErrorKind::network, "/proc/self/exe",
                                "cannot find the binary's folder to load the Hub module from"});
  }
  const fs::path beside = exe.parent_path() / hub::k_module_file;
  const fs::path installed = exe.parent_path() / MBUILD_HUB_MODULE_INSTALL_DIR / hub::k_module_file;
  const fs::path path = fs::exists(beside, ec) || !fs::exists(installed, ec) ? beside : installed;
  // RTLD_LOCAL: the module's copies of core symbols stay its own.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return tl::unexpected(
        Error{ErrorKind::network, path.string(),
              fmt::format("cannot load the Hub module: {}", why ? why : "unknown dlopen failure"),
              "reinstall mbuild: the module is part of it"});
  }
  using Entry = const hub::ModuleApi* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, hub::k_module_entry));
  const hub::ModuleApi* api = entry ? entry() : nullptr;
  if (!api || std::string_view(api->version) != MBUILD_VERSION || api->abi != hub::module_abi()) {
    return tl::unexpected(Error{ErrorKind::network, path.string(),
                                "the Hub module is from another build of mbuild",
                                "rebuild or reinstall mbuild"});
  }
  return api;
}

}  // namespace

Result<const hub::ModuleApi*> hub_module() {
  static std::once_flag once;
  static Result<const hub::ModuleApi*> loaded = tl::unexpected(Error{});
  std::call_once(once, [] { loaded = load_module(); });
  return loaded;
}

}  // namespace mbuild::cli
