# Shared by scripts/dev and scripts/test (sourced, not run): installs what is missing, nothing else.
# A machine with only npm gets Bun from npm; a checkout gets its packages from bun.lock; the test
# suite's system tools come from Debian's apt when they are absent.

BUN_VERSION=1.4.5

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "setup: '$*' needs root and there is no sudo; run it as root, then run this again" >&2
    return 1
  fi
}

ensure_bun() {
  # Any 1.4.x will do (the version the project is built and tested with).
  case "$(bun --version 2>/dev/null)" in "${BUN_VERSION%.*}".*) return 0 ;; esac
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: neither Bun ${BUN_VERSION%.*} nor npm is installed; install Node.js (npm) or Bun first" >&2
    return 1
  fi
  echo "setup: installing Bun $BUN_VERSION with npm" >&2
  if [ "$(id -u)" = 0 ]; then
    npm install -g --no-fund --no-audit "bun@$BUN_VERSION" >&2
  else
    # Without root, into ~/.local (on most PATHs already; added here for this run).
    npm install -g --no-fund --no-audit --prefix "$HOME/.local" "bun@$BUN_VERSION" >&2
    PATH="$HOME/.local/bin:$PATH"
    export PATH
  fi
  hash -r 2>/dev/null || true
}

# bun.lock is the source of truth: install when node_modules is missing or older than it.
ensure_packages() {
  if [ ! -d node_modules ] || [ bun.lock -nt node_modules ]; then
    echo "setup: installing packages (bun install --frozen-lockfile)" >&2
    bun install --frozen-lockfile >&2
    touch node_modules
  fi
}

# The tools the test suite starts: Redis, Chromium, nginx, openssl, Python with requests and httpx,
# and the unmodified clients the companion's tests run (curl, git with git http-backend).
ensure_test_tools() {
  need=""
  command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
  command -v chromium >/dev/null 2>&1 || need="$need chromium"
  command -v nginx >/dev/null 2>&1 || need="$need nginx"
  command -v openssl >/dev/null 2>&1 || need="$need openssl"
  command -v script >/dev/null 2>&1 || need="$need bsdutils"
  command -v curl >/dev/null 2>&1 || need="$need curl"
  command -v git >/dev/null 2>&1 || need="$need git"
  command -v gh >/dev/null 2>&1 || need="$need gh"
  /usr/bin/python3 -c 'import requests, httpx' >/dev/null 2>&1 || need="$need python3-requests python3-httpx"
  [ -z "$need" ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: install these first (no apt-get here):$need" >&2
    return 1
  fi
  echo "setup: installing$need" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  # shellcheck disable=SC2086 # one word per package
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
}
