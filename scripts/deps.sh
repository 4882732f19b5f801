# Sourced by the scripts: installs what building and testing zhucun needs, idempotently.
# Debian packages: a C toolchain and OpenSSL headers for SQLCipher (rusqlite's
# bundled-sqlcipher), pkg-config to find them; WebKitGTK and friends for the Tauri app.
# For the tests: Xvfb and WebKitWebDriver for the app, Chromium for the dashboard, CJK fonts
# so screenshots show Chinese as users see it; Debian's Python with venv for the API fuzzer
# (tests/api) and psql for the PostgreSQL database it makes.

APT_PACKAGES="build-essential pkg-config libssl-dev curl wget file"
APT_APP="libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev"
APT_TEST="xvfb xauth webkit2gtk-driver dbus-x11 dunst chromium fonts-noto-cjk systemd adduser"
APT_API_FUZZ="python3 python3-venv"

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

# npm packages of a folder with a package-lock.json, installed only when the lock changed.
ensure_npm() {
    local dir="$1"
    command -v npm >/dev/null || { echo "zhucun's UI needs Node.js and npm on PATH" >&2; exit 1; }
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.src" 2>/dev/null; then
        echo "installing npm packages in $dir" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
        cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.src"
    fi
}

# tauri-driver (WebDriver for Tauri apps), pinned to 2.x.
ensure_tauri_driver() {
    if ! command -v tauri-driver >/dev/null || ! { tauri-driver --help 2>&1 || true; } | grep -q .; then
        cargo install tauri-driver --version "^2" --locked >&2
    fi
}

# cargo-fuzz (libFuzzer driver) for scripts/fuzz; it runs on the stable toolchain with
# RUSTC_BOOTSTRAP=1 for the sanitizer flags.
ensure_cargo_fuzz() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked >&2
    fi
}

# The API fuzzer (tests/api/run): schemathesis and the CBOR and zstd packages its hooks use,
# pinned in tests/api/requirements.txt, in a venv of Debian's Python at tests/api/.venv,
# installed again only when requirements.txt changed (the copy beside the venv says which
# one it holds).
ensure_api_fuzzer() {
    local dir=tests/api
    local venv="$dir/.venv"
    ensure_apt $APT_API_FUZZ
    command -v psql >/dev/null || ensure_apt postgresql-client
    if [ ! -x "$venv/bin/st" ] || ! cmp -s "$dir/requirements.txt" "$venv/requirements.txt.src" 2>/dev/null; then
        echo "installing the API fuzzer's Python packages in $venv" >&2
        rm -rf "$venv"
        /usr/bin/python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt" >&2
        cp "$dir/requirements.txt" "$venv/requirements.txt.src"
    fi
}

ensure_deps() {
    ensure_apt $APT_PACKAGES $APT_APP
    ensure_rust
    ensure_npm ui
}

ensure_test_deps() {
    ensure_deps
    ensure_apt $APT_TEST
    ensure_npm tests/app
    ensure_npm tests/dashboard
    ensure_api_fuzzer
    ensure_tauri_driver
}

# The UI is embedded in the app at compile time: build it before cargo compiles the app.
# The office dashboard (ui/dist-dashboard, served by zhucun-server) is built beside it.
build_ui() {
    (cd ui && npm run --silent build >&2 && npx vite build --config vite.dashboard.config.ts >&2)
}
