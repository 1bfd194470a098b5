#!/usr/bin/env bash
# The Debian packages the sandbox (`sandbox`) or the tests (`test`) use, installed when missing and when this user
# may install them (root, or sudo without a password): `npm run sandbox` and `npm run check` call it first, so each
# works on a fresh machine on its own. Without that right it names what is missing and the command to run, and goes
# on: the sandbox says what it runs without, and the tests skip what needs a missing program (in CI they fail).
set -euo pipefail

profile="${1:-}"
if [ "$profile" != sandbox ] && [ "$profile" != test ]; then
  echo "usage: $0 sandbox|test" >&2
  exit 2
fi

has() { command -v "$1" >/dev/null 2>&1; }
# PostgreSQL's server programs are often off the PATH (Debian keeps them under /usr/lib/postgresql/<version>/bin).
has_postgres() { has initdb || has pg_config || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

missing=()
has redis-server || missing+=(redis-server)
has_postgres || missing+=(postgresql)
has prometheus || missing+=(prometheus)
has prometheus-alertmanager || has alertmanager || missing+=(prometheus-alertmanager)
if [ "$profile" = test ]; then
  has redis-cli || missing+=(redis-tools)       # redis-cli --cluster create (the Redis Cluster tests)
  has chromium || missing+=(chromium)           # the sandbox page's browser test
  has dig || missing+=(bind9-dnsutils)          # queries the DNS stand-in
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ -n "${BATON_PACKAGES_DRY_RUN:-}" ]; then
  echo "baton: would install ${missing[*]}" >&2
  exit 0
fi
if ! has apt-get; then
  echo "baton: missing ${missing[*]}; this machine has no apt-get: install them with its package manager" >&2
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif has sudo && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "baton: missing ${missing[*]}: run  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 0
fi
echo "baton: installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
