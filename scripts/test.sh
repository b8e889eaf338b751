#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run calls.
#
#   1. Rust unit and integration tests on SQLite, and on PostgreSQL and MariaDB when reachable
#      (TEST_POSTGRES_URL / TEST_MYSQL_URL; defaults point at 127.0.0.1 when the servers
#      answer there; TEST_REQUIRE_BACKENDS=1 makes a missing one a failure, as CI does).
#   2. The client suite: python-tackerclient and the OpenStack CLI against the built binary.
#   3. The multi-master demo on the local PostgreSQL, and the compose file's validation.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${TEST_POSTGRES_URL:-}" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  export TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
fi
if [ -z "${TEST_MYSQL_URL:-}" ] && mysqladmin -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping >/dev/null 2>&1; then
  export TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/mysql
fi
echo "== backends: postgres=${TEST_POSTGRES_URL:-skipped} mysql=${TEST_MYSQL_URL:-skipped}"

echo "== cargo test"
cargo test --workspace --locked

echo "== client suite (python-tackerclient, openstack vim ...)"
cargo build --locked --bin tacker-vim
venv="$(bash scripts/clients-venv.sh)"
export TACKER_VIM_BIN="$PWD/target/debug/tacker-vim"
"$venv/bin/python" -m pytest tests/clients -q -p no:cacheprovider

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "== multi-master demo"
  TACKER_VIM_BIN="$TACKER_VIM_BIN" bash scripts/demo-multi-master.sh >/dev/null
  echo "demo passed"
else
  echo "== multi-master demo SKIPPED: no PostgreSQL on 127.0.0.1:5432"
fi

if command -v docker-compose >/dev/null 2>&1; then
  echo "== docker-compose.yml"
  docker-compose -f docker-compose.yml config -q
  echo "compose file valid"
else
  echo "== docker-compose.yml SKIPPED: docker-compose is not installed (.ci/run installs it)"
fi
