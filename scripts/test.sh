#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run calls.
#
#   1. Rust unit and integration tests on SQLite, and on PostgreSQL and MariaDB when reachable
#      (TEST_POSTGRES_URL / TEST_MYSQL_URL; defaults point at 127.0.0.1 when the servers
#      answer there; TEST_REQUIRE_BACKENDS=1 makes a missing one a failure, as CI does).
#   2. The client suite: python-tackerclient and the OpenStack CLI against the built binary,
#      and the README's "Try it" examples as printed (tests/clients/test_readme.py).
#   3. Schemathesis: requests generated from openapi.yaml against the built binary, every
#      response checked against the spec (scripts/schemathesis.sh), on SQLite and on each
#      reachable database server.
#   4. The multi-master demo on the local PostgreSQL (and that the README's walkthrough is what it
#      prints), and the compose file's validation.
# It closes with one line of totals: "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${TEST_POSTGRES_URL:-}" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  export TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
fi
if [ -z "${TEST_MYSQL_URL:-}" ] && mysqladmin -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping >/dev/null 2>&1; then
  export TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/mysql
fi
echo "== backends: postgres=${TEST_POSTGRES_URL:-skipped} mysql=${TEST_MYSQL_URL:-skipped}"

# Totals over every runner, for the closing line.
passed=0
failed=0
count() { # count PASSED FAILED
  passed=$((passed + $1))
  failed=$((failed + $2))
}
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee "$log"
while read -r p f; do count "$p" "$f"; done < <(
  sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$log")

echo "== client suite (python-tackerclient, openstack vim ..., the README's examples)"
# `cargo test` built target/debug/tacker-vim for the integration tests; the rest of the suite
# runs that binary. (`cargo build --bin` would compile much of the tree again: without the
# dev-dependencies, cargo resolves other features for serde_json, sqlx and sea-query.)
[ -x target/debug/tacker-vim ] || cargo build --locked --bin tacker-vim
venv="$(bash scripts/clients-venv.sh)"
export TACKER_VIM_BIN="$PWD/target/debug/tacker-vim"
"$venv/bin/python" -m pytest tests/clients -q -p no:cacheprovider 2>&1 | tee "$log"
count "$(sed -nE 's/^([0-9]+) passed.*/\1/p' "$log" | tail -1)" 0

# Schemathesis on each database: each found 500s the others did not.
schemathesis_on() { # schemathesis_on NAME [DATABASE-URL]
  echo "== schemathesis on $1 (openapi.yaml against the built binary)"
  if [ -n "${2:-}" ]; then
    OS_DATABASE__CONNECTION="$2" bash scripts/schemathesis.sh
  else
    bash scripts/schemathesis.sh
  fi
  count 1 0
}
schemathesis_on SQLite
scratch="tv_schemathesis_$$"
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  psql -q "$TEST_POSTGRES_URL" -c "CREATE DATABASE $scratch"
  schemathesis_on PostgreSQL "${TEST_POSTGRES_URL%/*}/$scratch"
  psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE $scratch WITH (FORCE)"
fi
if [ -n "${TEST_MYSQL_URL:-}" ]; then
  mysql -h 127.0.0.1 -P 3306 -u root -e "CREATE DATABASE $scratch"
  schemathesis_on MariaDB "${TEST_MYSQL_URL%/*}/$scratch"
  mysql -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE $scratch"
fi

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "== multi-master demo, and the README's walkthrough of it"
  bash scripts/demo-multi-master.sh >"$log"
  echo "demo passed"
  count 1 0
  python3 scripts/check-walkthrough.py "$log"
  count 1 0
else
  echo "== multi-master demo SKIPPED: no PostgreSQL on 127.0.0.1:5432"
fi

if command -v docker-compose >/dev/null 2>&1; then
  echo "== docker-compose.yml"
  docker-compose -f docker-compose.yml config -q
  echo "compose file valid"
  count 1 0
else
  echo "== docker-compose.yml SKIPPED: docker-compose is not installed (.ci/run installs it)"
fi

echo
echo "$passed passed, $failed failed"
