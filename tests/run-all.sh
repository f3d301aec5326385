#!/usr/bin/env bash
# Runs the whole test suite: formatting and lints, unit and integration tests on SQLite, the
# integration tests again on PostgreSQL, the OpenAPI document through a validator, the API
# fuzzing (schemathesis, five roles) and the browser tests (Chromium with axe-core). Installs or
# starts what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/ensure-tools.sh

step() { printf '\n==> %s\n' "$*"; }

step "Formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The benchmarks' seeder is behind a feature; keep it compiling and linted too.
cargo clippy -p samling --all-targets --locked --features bench-seed -- -D warnings
python3 tests/check-imports.py

step "Build"
cargo build --workspace --locked

step "Unit, CLI and integration tests on SQLite"
cargo test --workspace --locked

step "Integration tests on PostgreSQL"
# The same package selection as above, so cargo reuses the build (features unify per selection).
SAMLING_TEST_DATABASE=postgres cargo test --workspace --locked --test api

step "OpenAPI document"
target/debug/samling openapi > target/openapi.json
target/venv/bin/python -m openapi_spec_validator target/openapi.json

step "API fuzzing (schemathesis against the served document, five roles)"
BIN_DIR=target/debug bash tests/fuzz-api.sh

step "Browser tests (Chromium, axe-core WCAG 2.1 AA)"
(cd tests/e2e && npm test)
