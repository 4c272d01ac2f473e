#!/bin/sh
# Installs surrogate as a systemd service.
#   sudo scripts/systemd/install.sh [path/to/surrogate-binary]     (default: dist/surrogate; run `bun run build` first)
# DESTDIR=/some/root installs into a staging tree instead (no systemctl calls).
# Existing configuration, keys and secrets are never overwritten.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=${1:-$repo/dist/surrogate}
root=${DESTDIR:-}

if [ ! -x "$binary" ]; then
  echo "install.sh: $binary is not an executable; build it with \`bun run build\`" >&2
  exit 1
fi

install -d -m 0755 "$root/usr/local/bin" "$root/etc/surrogate" "$root/etc/systemd/system"
install -m 0755 "$binary" "$root/usr/local/bin/surrogate"

# Configuration holds no secrets (only references), so it may be world-readable: the service's
# DynamicUser= account must be able to read it.
if [ ! -e "$root/etc/surrogate/surrogate.toml" ]; then
  install -m 0644 "$repo/examples/surrogate.toml" "$root/etc/surrogate/surrogate.toml"
  echo "installed example configuration: $root/etc/surrogate/surrogate.toml (edit it)"
fi

# Secrets stay root-only; systemd hands them to the service through LoadCredential=.
install -d -m 0700 "$root/etc/surrogate/keys" "$root/etc/surrogate/secrets"
if [ ! -e "$root/etc/surrogate/keys/signing.jwks" ] && [ ! -e "$root/etc/surrogate/keys/encryption.jwks" ]; then
  # The command's own hint (file: paths) does not apply: under systemd the keys are credentials.
  "$root/usr/local/bin/surrogate" keys generate --out "$root/etc/surrogate/keys" >/dev/null
  echo "generated key sets in $root/etc/surrogate/keys (mode 0600)"
fi

install -m 0644 "$here/surrogate.service" "$root/etc/systemd/system/surrogate.service"

if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
fi

cat <<NEXT
Next steps:
  1. Put the agent port's certificate and CA bundle in /etc/surrogate (see [agent] in surrogate.toml)
     and its private key in /etc/surrogate/secrets/agent.key (mode 0600).
  2. Write each OAuth client secret to /etc/surrogate/secrets/NAME (mode 0600) and keep the
     LoadCredential= lines of /etc/systemd/system/surrogate.service in step with the
     credential:NAME references in surrogate.toml.
  3. systemctl enable --now surrogate
NEXT
