# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Detects optional libbpf APIs at configure time and records them in
# ${PROJECT_BINARY_DIR}/tcplog_config.h. Debian 12 ships libbpf 1.1; newer
# releases add APIs that we use when present and replace when not.

include(CheckSymbolExists)
include(CMakePushCheckState)

cmake_push_check_state(RESET)
set(CMAKE_REQUIRED_INCLUDES ${LIBBPF_INCLUDE_DIRS})
set(CMAKE_REQUIRED_LIBRARIES ${LIBBPF_LINK_LIBRARIES})

# libbpf >= 1.3: TCX attachment helper.
check_symbol_exists(bpf_program__attach_tcx "bpf/libbpf.h"
                    HAVE_BPF_PROGRAM_ATTACH_TCX)
# libbpf >= 0.0.8: batched map reads.
check_symbol_exists(bpf_map_lookup_batch "bpf/bpf.h" HAVE_BPF_MAP_LOOKUP_BATCH)
# libbpf >= 0.6: tc hook/filter API for the legacy clsact path.
check_symbol_exists(bpf_tc_attach "bpf/libbpf.h" HAVE_BPF_TC_ATTACH)
# libbpf >= 1.0: runtime version query.
check_symbol_exists(libbpf_version_string "bpf/libbpf.h"
                    HAVE_LIBBPF_VERSION_STRING)
cmake_pop_check_state()

configure_file(${CMAKE_CURRENT_LIST_DIR}/tcplog_config.h.in
               ${PROJECT_BINARY_DIR}/tcplog_config.h)

message(STATUS "libbpf ${LIBBPF_VERSION}: attach_tcx=${HAVE_BPF_PROGRAM_ATTACH_TCX} "
               "lookup_batch=${HAVE_BPF_MAP_LOOKUP_BATCH} tc_attach=${HAVE_BPF_TC_ATTACH}")
