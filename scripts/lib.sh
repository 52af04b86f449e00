# scripts/lib.sh - shared by scripts/run, scripts/test, scripts/bench, scripts/screenshots.
# Installs missing Debian packages (apt-get when root, otherwise says what to install) and
# configures and builds ipcscope into build/.

IPCSCOPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$IPCSCOPE_ROOT/build}

# The Debian packages ipcscope needs to build and run.
BUILD_PACKAGES="cmake make gcc pkg-config libjansson-dev libncurses-dev clang llvm libbpf-dev
bpftool libelf-dev zlib1g-dev libzstd-dev"
TEST_PACKAGES="libcriterion-dev tmux procps util-linux strace iproute2 libcap2-bin ncurses-bin zstd"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_packages PKG...: install what is missing.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            say "installing ${missing[*]} (sudo apt-get)"
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
            return $?
        fi
        echo "ipcscope: missing Debian packages: ${missing[*]}" >&2
        echo "install them with:  sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# mount tracefs for the eBPF probes when root and not mounted (harmless otherwise)
ensure_tracefs() {
    [ "$(id -u)" -eq 0 ] || return 0
    [ -e /sys/kernel/tracing/events ] && return 0
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
}

# mount /dev/mqueue when root and nothing is mounted there: without it a leaked POSIX message
# queue cannot be seen (ipcscope mounts it too, at a run's start)
ensure_mqueue() {
    [ "$(id -u)" -eq 0 ] || return 0
    [ "$(stat -f -c %T /dev/mqueue 2>/dev/null)" = mqueue ] && return 0
    mkdir -p /dev/mqueue && mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue 2>/dev/null || true
}

# build [cmake args...]: configure (once) and build into $BUILD_DIR.
build() {
    say "building into ${BUILD_DIR#$IPCSCOPE_ROOT/}"
    cmake -S "$IPCSCOPE_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$BUILD_DIR.cmake.log" 2>&1 ||
        { cat "$BUILD_DIR.cmake.log" >&2; exit 1; }
    grep -E '^-- bpf:' "$BUILD_DIR.cmake.log" >&2 || true
    # shellcheck disable=SC2086 # BUILD_TARGETS: a space-separated list (default: everything)
    cmake --build "$BUILD_DIR" -j"$(nproc)" ${BUILD_TARGETS:+--target $BUILD_TARGETS} \
        >"$BUILD_DIR.build.log" 2>&1 ||
        { tail -50 "$BUILD_DIR.build.log" >&2; exit 1; }
}
