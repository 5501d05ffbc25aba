# mbuild_warnings: linked by mbuild's own targets only, never by third-party code.
add_library(mbuild_warnings INTERFACE)
target_compile_options(mbuild_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
# GCC 12 at -O3 reports -Wrestrict inside std::string's operator+ (GCC bug 105651): a false
# positive in libstdc++, not in our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(mbuild_warnings INTERFACE -Wno-restrict)
endif()
if(MBUILD_WERROR)
  target_compile_options(mbuild_warnings INTERFACE -Werror)
endif()

# mbuild_sanitizers: the whole project (tests included) is built with them when asked.
add_library(mbuild_sanitizers INTERFACE)
if(MBUILD_SANITIZE)
  target_compile_options(mbuild_sanitizers INTERFACE
    -fsanitize=${MBUILD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(mbuild_sanitizers INTERFACE -fsanitize=${MBUILD_SANITIZE})
  # GCC 12 with ASan at -O1 reports -Wmaybe-uninitialized inside libstdc++'s std::regex (the
  # sanitizer's instrumentation defeats its flow analysis). The optimised -Werror build keeps
  # the warning on.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(mbuild_sanitizers INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()
