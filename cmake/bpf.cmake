# bpf.cmake - build the eBPF probes (probes/*.bpf.c) into a libbpf skeleton, or fall back.
#
# WITH_BPF=AUTO (default) builds the probes when clang, bpftool, libbpf and the kernel's BTF
# are all there and otherwise says why it does not; ON makes a missing piece fatal; OFF never
# builds them. ipcscope_add_bpf(TARGET) adds the loader (or its stub) to TARGET.

get_filename_component(IPCSCOPE_BPF_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(WITH_BPF "AUTO" CACHE STRING "Build the eBPF probes: AUTO, ON or OFF")
set_property(CACHE WITH_BPF PROPERTY STRINGS AUTO ON OFF)
set(IPCSCOPE_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH
    "Kernel BTF used to generate vmlinux.h")

# Sets ${out_ok} TRUE when everything needed is present, else FALSE and ${out_why} to why.
function(_ipcscope_bpf_probe out_ok out_why)
    set(${out_ok} FALSE PARENT_SCOPE)
    if(WITH_BPF STREQUAL "OFF")
        set(${out_why} "WITH_BPF=OFF" PARENT_SCOPE)
        return()
    endif()
    find_program(IPCSCOPE_CLANG NAMES clang clang-16 clang-15 clang-14)
    find_program(IPCSCOPE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
        pkg_check_modules(IPCSCOPE_LIBBPF QUIET libbpf)
    endif()
    if(NOT IPCSCOPE_CLANG)
        set(${out_why} "clang not found" PARENT_SCOPE)
    elseif(NOT IPCSCOPE_BPFTOOL)
        set(${out_why} "bpftool not found" PARENT_SCOPE)
    elseif(NOT IPCSCOPE_LIBBPF_FOUND)
        set(${out_why} "libbpf not found (pkg-config libbpf)" PARENT_SCOPE)
    elseif(NOT EXISTS "${IPCSCOPE_VMLINUX_BTF}")
        set(${out_why} "no BTF at ${IPCSCOPE_VMLINUX_BTF}" PARENT_SCOPE)
    else()
        set(${out_ok} TRUE PARENT_SCOPE)
    endif()
endfunction()

# __TARGET_ARCH_xxx as bpf_tracing.h spells it.
function(_ipcscope_bpf_arch out)
    string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" p)
    if(p MATCHES "^(x86_64|amd64|i.86)$")
        set(${out} x86 PARENT_SCOPE)
    elseif(p MATCHES "^(aarch64|arm64)")
        set(${out} arm64 PARENT_SCOPE)
    elseif(p MATCHES "^arm")
        set(${out} arm PARENT_SCOPE)
    elseif(p MATCHES "^(ppc64|powerpc64)")
        set(${out} powerpc PARENT_SCOPE)
    elseif(p MATCHES "^riscv")
        set(${out} riscv PARENT_SCOPE)
    elseif(p MATCHES "^s390")
        set(${out} s390 PARENT_SCOPE)
    else()
        set(${out} ${p} PARENT_SCOPE)
    endif()
endfunction()

# Custom commands: vmlinux.h -> ipcscope.bpf.o -> ipcscope.skel.h, all in the build dir.
function(_ipcscope_bpf_skeleton out_skel)
    set(dir "${CMAKE_BINARY_DIR}/bpf")
    set(src "${IPCSCOPE_BPF_ROOT}/probes/ipcscope.bpf.c")
    _ipcscope_bpf_arch(arch)
    file(MAKE_DIRECTORY "${dir}")
    add_custom_command(OUTPUT "${dir}/vmlinux.h"
        COMMAND "${IPCSCOPE_BPFTOOL}" btf dump file "${IPCSCOPE_VMLINUX_BTF}" format c
                > "${dir}/vmlinux.h"
        COMMENT "bpf: vmlinux.h from ${IPCSCOPE_VMLINUX_BTF}" VERBATIM)
    add_custom_command(OUTPUT "${dir}/ipcscope.bpf.o"
        COMMAND "${IPCSCOPE_CLANG}" -g -O2 -Wall -target bpf -mcpu=v3 -D__TARGET_ARCH_${arch}
                -I "${dir}" -I "${IPCSCOPE_BPF_ROOT}/probes"
                -c "${src}" -o "${dir}/ipcscope.bpf.o"
        DEPENDS "${src}" "${IPCSCOPE_BPF_ROOT}/probes/ipcscope.h" "${dir}/vmlinux.h"
        COMMENT "bpf: compiling probes/ipcscope.bpf.c" VERBATIM)
    add_custom_command(OUTPUT "${dir}/ipcscope.skel.h"
        COMMAND "${IPCSCOPE_BPFTOOL}" gen skeleton "${dir}/ipcscope.bpf.o" name ipcscope_bpf
                > "${dir}/ipcscope.skel.h"
        DEPENDS "${dir}/ipcscope.bpf.o"
        COMMENT "bpf: skeleton ipcscope.skel.h" VERBATIM)
    add_custom_target(ipcscope_bpf_skel DEPENDS "${dir}/ipcscope.skel.h")
    set(${out_skel} "${dir}" PARENT_SCOPE)
endfunction()

# Add the eBPF loader to TARGET (or the stub that explains why there is none).
function(ipcscope_add_bpf target)
    _ipcscope_bpf_probe(ok why)
    if(NOT ok)
        if(WITH_BPF STREQUAL "ON")
            message(FATAL_ERROR "bpf: WITH_BPF=ON but ${why}")
        endif()
        message(STATUS "bpf: off (${why})")
        target_sources(${target} PRIVATE "${IPCSCOPE_BPF_ROOT}/src/sources/bpf_stub.c")
        set(IPCSCOPE_HAVE_BPF OFF PARENT_SCOPE)
        return()
    endif()

    _ipcscope_bpf_skeleton(skel_dir)
    add_dependencies(${target} ipcscope_bpf_skel)
    target_sources(${target} PRIVATE "${IPCSCOPE_BPF_ROOT}/src/sources/bpf.c"
                                     "${skel_dir}/ipcscope.skel.h")
    target_include_directories(${target} PRIVATE "${skel_dir}" ${IPCSCOPE_LIBBPF_INCLUDE_DIRS})
    target_link_directories(${target} PUBLIC ${IPCSCOPE_LIBBPF_LIBRARY_DIRS})
    target_link_libraries(${target} PUBLIC ${IPCSCOPE_LIBBPF_LIBRARIES} elf z)
    target_compile_definitions(${target} PUBLIC HAVE_BPF=1)
    message(STATUS "bpf: on (clang ${IPCSCOPE_CLANG}, bpftool ${IPCSCOPE_BPFTOOL}, "
                   "libbpf ${IPCSCOPE_LIBBPF_VERSION})")
    set(IPCSCOPE_HAVE_BPF ON PARENT_SCOPE)
endfunction()
