#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer. DATABASE_URL / REDIS_URL, when set, name
# servers managed elsewhere: they are only probed. Otherwise the local servers on
# the default ports are used: started if installed, installed with apt if missing.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() {
  printf '\033[31m%s\033[0m\n' "$*" >&2
  echo "Alternatively, start them with Docker: docker compose up -d db redis" >&2
  exit 1
}
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_install() {
  can_apt || fail "Cannot install $* (needs root and apt-get)."
  say "Installing $* with apt"
  [ -n "$(find /var/lib/apt/lists -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ] \
    || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

url_host_port() {  # scheme://user:pass@host:port/db -> "host port"
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or int(sys.argv[2]))
PY
}

# --- PostgreSQL ---------------------------------------------------------------
if [ -n "${DATABASE_URL:-}" ]; then
  read -r pg_host pg_port < <(url_host_port "$DATABASE_URL" 5432)
  command -v pg_isready >/dev/null && { pg_isready -q -h "$pg_host" -p "$pg_port" \
    || fail "PostgreSQL at $pg_host:$pg_port (DATABASE_URL) does not answer."; }
else
  if ! command -v pg_isready >/dev/null || ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      apt_install postgresql postgresql-contrib
    fi
    say "Starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || pg_ctlcluster "$version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL did not start."
    # A freshly installed server asks for a password on TCP: give the default
    # development role the one that DATABASE_URL's default carries.
    if [ "$(id -u)" = 0 ]; then
      su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
    fi
  fi
fi

# --- Redis --------------------------------------------------------------------
if [ -n "${REDIS_URL:-}" ]; then
  read -r r_host r_port < <(url_host_port "$REDIS_URL" 6379)
  command -v redis-cli >/dev/null && { redis-cli -h "$r_host" -p "$r_port" ping >/dev/null 2>&1 \
    || fail "Redis at $r_host:$r_port (REDIS_URL) does not answer."; }
else
  if ! command -v redis-cli >/dev/null || ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    command -v redis-server >/dev/null || apt_install redis-server
    say "Starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
      --appendonly no --dir /tmp --logfile /tmp/conciergerie-redis.log >/dev/null
    for _ in $(seq 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli ping >/dev/null 2>&1 || fail "Redis did not start."
  fi
fi
say "PostgreSQL and Redis are reachable"
