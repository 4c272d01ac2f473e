#!/bin/sh
# Installs surrogate as a systemd service.
#   sudo scripts/systemd/install.sh [path/to/surrogate-binary]     (default: dist/surrogate; run `bun run build` first)
# DESTDIR=/some/root installs into a staging tree instead (no systemctl calls).
# Existing configuration, keys, secrets, certificates and the credentials drop-in are never
# overwritten; the unit and surrogate.example.toml (the project's) are replaced on every run.
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
# DynamicUser= account must be able to read it. The installed one starts as it is; the complete
# example sits beside it (refreshed on every run, it is documentation).
if [ ! -e "$root/etc/surrogate/surrogate.toml" ]; then
  install -m 0644 "$here/surrogate.toml" "$root/etc/surrogate/surrogate.toml"
  echo "installed a starting configuration: $root/etc/surrogate/surrogate.toml"
fi
install -m 0644 "$repo/examples/surrogate.toml" "$root/etc/surrogate/surrogate.example.toml"

# Secrets stay root-only; systemd hands them to the service through LoadCredential=.
install -d -m 0700 "$root/etc/surrogate/keys" "$root/etc/surrogate/secrets"
if [ ! -e "$root/etc/surrogate/keys/signing.jwks" ] && [ ! -e "$root/etc/surrogate/keys/encryption.jwks" ]; then
  # The command's own hint (file: paths) does not apply: under systemd the keys are credentials.
  "$root/usr/local/bin/surrogate" keys generate --out "$root/etc/surrogate/keys" >/dev/null
  echo "generated key sets in $root/etc/surrogate/keys (mode 0600)"
fi

# A private CA and a server certificate for this host, so the agent port starts before you bring
# your own (the openssl recipe of docs/operations.md, "Certificates without SPIFFE"). The CA key
# stays root-only in secrets/: it issues agent certificates; move it offline once you have.
if [ ! -e "$root/etc/surrogate/server.pem" ] && [ ! -e "$root/etc/surrogate/secrets/agent.key" ]; then
  host=$(hostname -f 2>/dev/null || hostname)
  ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  # shellcheck disable=SC2086 # $ec is several arguments
  openssl req -x509 $ec -days 3650 -subj "/CN=surrogate CA ($host)" \
    -keyout "$root/etc/surrogate/secrets/ca.key" -out "$root/etc/surrogate/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  # shellcheck disable=SC2086
  openssl req -x509 $ec -days 365 -CA "$root/etc/surrogate/ca.pem" -CAkey "$root/etc/surrogate/secrets/ca.key" \
    -subj "/CN=$host" -keyout "$root/etc/surrogate/secrets/agent.key" -out "$root/etc/surrogate/server.pem" \
    -addext "subjectAltName=DNS:$host" -addext "extendedKeyUsage=serverAuth" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" 2>/dev/null
  chmod 0600 "$root/etc/surrogate/secrets/ca.key" "$root/etc/surrogate/secrets/agent.key"
  echo "generated a private CA ($root/etc/surrogate/ca.pem) and a server certificate for $host"
fi

# The unit is the project's and is replaced on every run; the site's credentials are in a drop-in
# that is created once and never overwritten, so an upgrade keeps them.
install -m 0644 "$here/surrogate.service" "$root/etc/systemd/system/surrogate.service"
install -d -m 0755 "$root/etc/systemd/system/surrogate.service.d"
if [ ! -e "$root/etc/systemd/system/surrogate.service.d/credentials.conf" ]; then
  install -m 0644 "$here/credentials.conf" "$root/etc/systemd/system/surrogate.service.d/credentials.conf"
  echo "installed $root/etc/systemd/system/surrogate.service.d/credentials.conf (this site's LoadCredential= lines)"
fi

if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
fi

cat <<NEXT
Next steps:
  1. systemctl enable --now surrogate      (it starts as installed; journalctl -u surrogate)
  2. Make it yours: edit /etc/surrogate/surrogate.toml (issuer, providers, [[policy]]);
     /etc/surrogate/surrogate.example.toml shows every section. Put your own agent-port
     certificate in /etc/surrogate/server.pem and its key in /etc/surrogate/secrets/agent.key,
     or keep the generated ones and issue agent certificates from /etc/surrogate/ca.pem.
  3. Each OAuth client secret goes to /etc/surrogate/secrets/NAME (mode 0600), with a
     LoadCredential=NAME:/etc/surrogate/secrets/NAME line in
     /etc/systemd/system/surrogate.service.d/credentials.conf (upgrades never touch that file),
     referenced as client_secret = "credential:NAME"; then systemctl daemon-reload and restart.
NEXT
