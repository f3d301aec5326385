#!/usr/bin/env bash
# Installs or starts what the test suite needs beyond the Rust toolchain: PostgreSQL on
# 127.0.0.1:5432 (user postgres, no password), Debian's Chromium, the browser tests' npm
# packages and a Python virtualenv with an OpenAPI validator, the API fuzzer, icalendar and
# moto's S3 server.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

postgres_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! postgres_ready; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "Installing PostgreSQL"
    apt_install postgresql postgresql-client
    # A fresh Debian cluster asks for passwords on TCP; the tests connect as postgres without one.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    done
  fi
  echo "Starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do postgres_ready && break; sleep 1; done
  postgres_ready || { echo "PostgreSQL did not start on 127.0.0.1:5432"; exit 1; }
fi
# Test databases left by interrupted runs.
psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'samling_test_%'" \
  | while read -r name; do psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS \"$name\""; done

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Chromium"
  apt_install chromium fonts-dejavu-core
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Installing Node.js"
  apt_install nodejs npm
fi
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

# Independent checkers: an OpenAPI validator (the current major of openapi-spec-validator) and
# schemathesis, the API fuzzer (tests/fuzz-api.sh); Python's icalendar for the .ics files;
# openpyxl, an independent reader of the report's XLSX exports; and
# moto's server, an S3-compatible store for the file storage tests. The newest Python there is:
# 3.11 can fail inside the fuzzer's own threads ("AST constructor recursion depth mismatch").
python=python3
for candidate in python3.13 python3.12; do
  if "$candidate" -c '' 2>/dev/null; then python=$candidate; break; fi
done
# pyenv keeps its other versions out of PATH until asked for.
if [ "$python" = python3 ] && command -v pyenv >/dev/null; then
  newer=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9](\.[0-9]+)?$' | sort -V | tail -n 1 || true)
  if [ -n "$newer" ]; then python="$(pyenv root)/versions/$newer/bin/python3"; fi
fi
wanted_minor=$("$python" -c 'import sys; print(sys.version_info[1])')
if [ ! -x target/venv/bin/python ] || [ ! -x target/venv/bin/moto_server ] || [ ! -x target/venv/bin/schemathesis ] \
  || [ "$(target/venv/bin/python -c 'import sys; print(sys.version_info[1])')" != "$wanted_minor" ] \
  || ! target/venv/bin/python -c 'import openapi_spec_validator, icalendar, moto, schemathesis, openpyxl' 2>/dev/null; then
  echo "Installing the OpenAPI validator, schemathesis, icalendar, openpyxl and moto's S3 server"
  mkdir -p target
  rm -rf target/venv
  "$python" -m venv target/venv
  target/venv/bin/pip install -q --disable-pip-version-check 'openapi-spec-validator>=0.9,<0.10' \
    'schemathesis>=4.32,<5' 'icalendar>=6,<7' 'moto[server]>=5,<6' 'openpyxl>=3.1,<4'
fi
