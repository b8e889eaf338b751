#!/usr/bin/env bash
# Property-based API tests: schemathesis generates requests from openapi.yaml and sends them to
# the built binary, checking every response against the spec (no 5xx, status codes, bodies,
# content types and headers as documented, schema-valid data accepted and invalid data rejected,
# 405 for undocumented methods), then chains create -> show/update/delete through the spec's
# links (stateful phase). Exits non-zero on any failure.
#
#   TACKER_VIM_BIN               the server binary (default target/debug/tacker-vim; build it first)
#   SCHEMATHESIS_VENV            venv for tests/schemathesis/requirements.txt, relative to the
#                                repository root unless absolute (default target/schemathesis-venv)
#   PYTHON                       interpreter to create the venv with (default python3; CPython 3.11)
#   SCHEMATHESIS_SEED            random seed: the same seed, spec and server send the same requests
#                                (default 20261203)
#   SCHEMATHESIS_MAX_EXAMPLES    generated cases per operation and phase (default 300: about
#                                5,000 requests, about a minute on 2 cores)
#   SCHEMATHESIS_TIMEOUT         seconds before the whole run is stopped as hung (default 600)
#   SCHEMATHESIS_REPORT_DIR      where the JUnit report goes (default target/schemathesis-report)
#
# Extra arguments go to `schemathesis run`, e.g. `--include-operation-id create_vim` or
# `--max-failures 1`. The server runs on a free 127.0.0.1 port with SQLite and a default key in a
# temporary directory, and `[nfvo_vim] validate_vim = False`, so generated VIMs need no Keystone
# or Kubernetes API. Its errors and warnings are printed when the run fails. `OS_<SECTION>__<OPTION>`
# variables reach the server and override that configuration, e.g.
#   OS_DATABASE__CONNECTION=postgresql://postgres@127.0.0.1:5432/scratch bash scripts/schemathesis.sh
# runs the same requests against a (scratch) PostgreSQL database.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$root/$1" ;;
  esac
}

binary="$(absolute "${TACKER_VIM_BIN:-target/debug/tacker-vim}")"
venv="$(absolute "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")"
report_dir="$(absolute "${SCHEMATHESIS_REPORT_DIR:-target/schemathesis-report}")"
seed="${SCHEMATHESIS_SEED:-20261203}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-300}"
run_timeout="${SCHEMATHESIS_TIMEOUT:-600}"

if [ ! -x "$binary" ]; then
  echo "schemathesis.sh: no tacker-vim binary at $binary: run \`cargo build --bin tacker-vim\`" \
    "or set TACKER_VIM_BIN" >&2
  exit 2
fi

python="${PYTHON:-python3}"
venv="$(bash "$root/scripts/venv.sh" tests/schemathesis/requirements.txt "$venv")"

work="$(mktemp -d "${TMPDIR:-/tmp}/tacker-vim-schemathesis.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$("$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"
mkdir -m 0700 "$work/keys"
if ! out="$("$binary" keys generate --file "$work/keys/default.key" 2>&1)"; then
  echo "schemathesis.sh: \`tacker-vim keys generate\` failed: $out" >&2
  exit 1
fi
cat >"$work/tacker.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
state_path = $work
api_request_timeout = 30

[database]
connection = sqlite:///$work/tacker.sqlite

[vim_keys]
openstack = $work/keys
default_secret_key = default.key

[nfvo_vim]
validate_vim = False
EOF

RUST_LOG="${RUST_LOG:-info}" "$binary" serve --config-file "$work/tacker.conf" \
  </dev/null >"$work/server.log" 2>&1 &
server_pid=$!

url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "schemathesis.sh: tacker-vim exited while starting:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  if "$python" - "$url/" <<'EOF' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
EOF
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "schemathesis.sh: tacker-vim did not answer GET / within 60 s:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

mkdir -p "$report_dir"
echo "== schemathesis $("$venv/bin/schemathesis" --version | awk '{print $NF}') against $url" \
  "(seed $seed, $max_examples examples per operation and phase)"
started=$SECONDS
status=0
# Run from the temporary directory: schemathesis and hypothesis keep their example databases and
# caches in the working directory, and nothing of an earlier run may change this one.
(
  cd "$work"
  NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
    timeout --kill-after=10 "$run_timeout" \
    "$venv/bin/schemathesis" --config-file "$root/tests/schemathesis/schemathesis.toml" \
    run "$root/openapi.yaml" \
    --url "$url" \
    --checks all \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --generation-database none \
    --report junit --report-junit-path "$report_dir/junit.xml" \
    --no-color \
    "$@"
) || status=$?

requests="$(grep -c ' request method=' "$work/server.log" || true)"
echo "== schemathesis: $requests requests served in $((SECONDS - started)) s, exit $status"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "schemathesis.sh: the run did not finish within ${run_timeout} s" >&2
fi
if [ "$status" -ne 0 ]; then
  echo "== server log (errors and warnings)" >&2
  grep -E ' (ERROR|WARN) ' "$work/server.log" | tail -n 50 >&2 || true
fi
exit "$status"
