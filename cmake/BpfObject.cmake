# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bpf_object(NAME SOURCE [VARIANT V] [DEFINES d...] [DEPENDS f...])
#
# Compiles SOURCE (a .bpf.c file) with clang for the BPF target into
# ${CMAKE_CURRENT_BINARY_DIR}/NAME.bpf.o, generates the libbpf skeleton
# NAME.skel.h with `bpftool gen skeleton`, and defines an INTERFACE library
# target NAME_skel that user-space targets link to get the skeleton header
# on their include path. Everything generated stays in the build tree.
# With VARIANT V (a build of the same program with other DEFINES), the
# files go to the folder V/ and the target is NAME_V_skel; the skeleton
# keeps the name NAME, so the same user code builds against either.

find_program(BPF_CLANG NAMES clang clang-19 clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

# The BPF target has no libc; the kernel's UAPI headers still include
# <asm/types.h>, which Debian keeps under the multiarch folder.
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(BPF_SYS_INCLUDE -idirafter /usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
endif()

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _bpf_proc)
if(_bpf_proc MATCHES "x86_64|amd64")
  set(BPF_TARGET_ARCH x86)
elseif(_bpf_proc MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${_bpf_proc})
endif()

function(bpf_object name source)
  cmake_parse_arguments(ARG "" "VARIANT" "DEFINES;DEPENDS" ${ARGN})
  set(outdir ${CMAKE_CURRENT_BINARY_DIR})
  set(target ${name})
  if(ARG_VARIANT)
    set(outdir ${CMAKE_CURRENT_BINARY_DIR}/${ARG_VARIANT})
    set(target ${name}_${ARG_VARIANT})
    file(MAKE_DIRECTORY ${outdir})
  endif()
  set(obj ${outdir}/${name}.bpf.o)
  set(skel ${outdir}/${name}.skel.h)
  set(defs)
  foreach(d ${ARG_DEFINES})
    list(APPEND defs -D${d})
  endforeach()
  get_filename_component(src_abs ${source} ABSOLUTE)

  # -mcpu=v3: 32-bit jumps and the atomic instructions (BPF_ATOMIC) that
  # clang 14 cannot emit for older CPU versions.
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3
            -D__TARGET_ARCH_${BPF_TARGET_ARCH} ${defs}
            -Wall -Wextra -Wno-unused-parameter -Werror
            -I${PROJECT_SOURCE_DIR}/bpf ${BPF_SYS_INCLUDE}
            -c ${src_abs} -o ${obj}
    DEPENDS ${src_abs} ${PROJECT_SOURCE_DIR}/bpf/tcplogger.h
            ${PROJECT_SOURCE_DIR}/bpf/parse.h ${ARG_DEPENDS}
    COMMENT "BPF ${target}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${target}_skel_gen DEPENDS ${skel})
  add_library(${target}_skel INTERFACE)
  add_dependencies(${target}_skel ${target}_skel_gen)
  target_include_directories(${target}_skel INTERFACE ${outdir})
endfunction()
