# Sourced by the scripts: installs what building and testing zhucun needs, idempotently.
# Debian packages: a C toolchain and OpenSSL headers for SQLCipher (rusqlite's
# bundled-sqlcipher), pkg-config to find them.

APT_PACKAGES="build-essential pkg-config libssl-dev"

ensure_apt() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -q >&2
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 --fix-broken install -y -q >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2
    fi
}

ensure_rust() {
    if ! command -v cargo >/dev/null; then
        [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null || { echo "zhucun needs a Rust toolchain (cargo) on PATH" >&2; exit 1; }
    for c in rustfmt clippy; do
        if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
            rustup component add "$c" >&2
        fi
    done
}

ensure_deps() {
    ensure_apt $APT_PACKAGES
    ensure_rust
}
