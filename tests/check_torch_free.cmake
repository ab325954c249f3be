# A test suite that must build without LibTorch (dynfault_test(... TORCH_FREE), tests/CMakeLists.txt)
# checked on what the build really did, not on what the CMake files say:
#   - the link command of the test executable names no torch library (libtorch*, libc10*, ...);
#   - no object of the executable or of a dynfault library it links included a torch header
#     (ATen/, c10/, torch/, caffe2/: the compiler's dependency lists, as Ninja recorded them);
#   - none of those objects refers to a torch symbol (at::, c10::, torch::, caffe2::).
# Run by CTest after the build:
#   cmake -DNINJA=<ninja> -DBUILD_DIR=<build> -DEXECUTABLE=<file> -DOBJECTS=<a|b|...> -DNM=<nm>
#         -P check_torch_free.cmake
foreach(v NINJA BUILD_DIR EXECUTABLE OBJECTS NM)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "check_torch_free: -D${v}=... missing")
  endif()
endforeach()
set(torch_dirs "/(ATen|c10|torch|caffe2)/")
set(failed "")

# Ninja names its outputs relative to the build directory.
file(RELATIVE_PATH exe "${BUILD_DIR}" "${EXECUTABLE}")
string(REPLACE "|" ";" objects "${OBJECTS}")
set(rel_objects "")
foreach(o IN LISTS objects)
  file(RELATIVE_PATH r "${BUILD_DIR}" "${o}")
  list(APPEND rel_objects "${r}")
endforeach()
list(LENGTH rel_objects n_objects)

# --- the link command ----------------------------------------------------------------------------
execute_process(COMMAND "${NINJA}" -C "${BUILD_DIR}" -t commands -s "${exe}"
                OUTPUT_VARIABLE link RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT link MATCHES "-o ${exe}( |$)")
  message(FATAL_ERROR "check_torch_free: no link command for ${exe} (ninja: ${rc})")
endif()
string(REGEX MATCHALL "[^ \"]*(lib|-l)(torch|c10|caffe2|kineto)[^ \"]*" libs "${link}")
if(libs)
  list(REMOVE_DUPLICATES libs)
  string(REPLACE ";" "\n    " libs "${libs}")
  string(APPEND failed "${exe} links torch:\n    ${libs}\n")
endif()

# --- the headers each object included ------------------------------------------------------------
execute_process(COMMAND "${NINJA}" -C "${BUILD_DIR}" -t deps ${rel_objects}
                OUTPUT_VARIABLE deps RESULT_VARIABLE rc)
string(REGEX MATCHALL "[^\n]*: #deps [0-9]+" recorded "${deps}")
list(LENGTH recorded n_recorded)
if(NOT rc EQUAL 0 OR NOT n_recorded EQUAL n_objects)
  # A missing dependency list would let an object pass unchecked: build everything first.
  message(FATAL_ERROR "check_torch_free: Ninja has the included headers of ${n_recorded} of the "
                      "${n_objects} objects of ${exe} (build first)")
endif()
# One block per object: its line, then its headers indented, then an empty line.
string(REPLACE "\n\n" ";" blocks "${deps}")
foreach(block IN LISTS blocks)
  string(REGEX MATCHALL "\n *[^\n]*${torch_dirs}[^\n]*" headers "${block}")
  if(headers)
    string(REGEX MATCH "^[^:]*" object "${block}")
    list(GET headers 0 first)
    string(STRIP "${first}" first)
    list(LENGTH headers n)
    string(APPEND failed "${object} includes ${n} torch headers, e.g. ${first}\n")
  endif()
endforeach()

# --- the symbols each object needs ---------------------------------------------------------------
execute_process(COMMAND "${NM}" -C --undefined-only ${objects}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_torch_free: ${NM} failed on the objects of ${exe}")
endif()
string(REGEX MATCHALL "U ([^\n]*[^A-Za-z0-9_:])?(at|c10|torch|caffe2)::[^\n]*" needed "${symbols}")
if(needed)
  list(LENGTH needed n)
  list(GET needed 0 first)
  string(APPEND failed "the objects of ${exe} need ${n} torch symbols, e.g. ${first}\n")
endif()

if(failed)
  string(STRIP "${failed}" failed)
  message(FATAL_ERROR "check_torch_free: ${exe} is meant to build without LibTorch, but\n${failed}")
endif()
message(STATUS "${exe}: link command, ${n_objects} objects' headers and symbols: no torch")
