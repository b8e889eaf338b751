#!/usr/bin/env bash
# Multi-master demo: two tacker-vim instances on one PostgreSQL database, sharing one default
# Fernet key. A VIM registered through instance 0 is shown, updated (re-validated against
# Keystone with the stored, encrypted password) and deleted through instance 1, and is then gone
# on both.
#
# Needs: a local PostgreSQL on 127.0.0.1:5432 accepting user postgres without a password,
# psql, pg_isready, curl, python3. Builds nothing unless the default binary is missing.
#
# Environment:
#   TACKER_VIM_BIN   the binary (default: target/debug/tacker-vim, built if absent)
#   DEMO_PORT_0      port of instance 0 (default 9890)
#   DEMO_PORT_1      port of instance 1 (default 9891)
#   DEMO_KEYSTONE_PORT  port of the Keystone stub (default 35357)
#   DEMO_PG_HOST     PostgreSQL host (default 127.0.0.1)
#   DEMO_PG_PORT     PostgreSQL port (default 5432)
#   DEMO_PG_USER     PostgreSQL user (default postgres)
#   DEMO_KEEP=1      keep the database and the temporary directory (logs, configs, keys)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT_0=${DEMO_PORT_0:-9890}
PORT_1=${DEMO_PORT_1:-9891}
PORT_KS=${DEMO_KEYSTONE_PORT:-35357}
PG_HOST=${DEMO_PG_HOST:-127.0.0.1}
PG_PORT=${DEMO_PG_PORT:-5432}
PG_USER=${DEMO_PG_USER:-postgres}
KEEP=${DEMO_KEEP:-0}

WORK=""
DB=""
PIDS=()
NAMES=()

die() {
    printf 'demo: %s\n' "$*" >&2
    exit 1
}

# ----- prerequisites ------------------------------------------------------------------------
for cmd in psql pg_isready curl python3; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        case $cmd in
            psql | pg_isready) pkg="postgresql-client" ;;
            *) pkg=$cmd ;;
        esac
        die "missing command '$cmd' (Debian package: $pkg)"
    fi
done

if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    die "PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT.
  Start it, e.g.: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start
  The demo connects as user '$PG_USER' without a password (trust authentication)."
fi
if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    die "cannot log in to PostgreSQL on $PG_HOST:$PG_PORT as '$PG_USER' without a password
  (the demo needs trust authentication for that user on loopback)."
fi

for port in "$PORT_0" "$PORT_1" "$PORT_KS"; do
    case $port in
        '' | *[!0-9]*) die "port '$port' is not a number (DEMO_PORT_0/DEMO_PORT_1/DEMO_KEYSTONE_PORT)" ;;
    esac
done
if [ "$PORT_0" = "$PORT_1" ] || [ "$PORT_0" = "$PORT_KS" ] || [ "$PORT_1" = "$PORT_KS" ]; then
    die "DEMO_PORT_0, DEMO_PORT_1 and DEMO_KEYSTONE_PORT must differ ($PORT_0, $PORT_1, $PORT_KS)"
fi
for port in "$PORT_0" "$PORT_1" "$PORT_KS"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port on 127.0.0.1 is already in use; free it or pick another with DEMO_PORT_0/DEMO_PORT_1/DEMO_KEYSTONE_PORT"
    fi
done

if [ -n "${TACKER_VIM_BIN:-}" ]; then
    BIN=$TACKER_VIM_BIN
    [ -x "$BIN" ] || die "TACKER_VIM_BIN=$BIN is not an executable file"
else
    BIN=$ROOT/target/debug/tacker-vim
    if [ ! -x "$BIN" ]; then
        echo "demo: $BIN not found, building it (cargo build --bin tacker-vim)" >&2
        (cd "$ROOT" && cargo build --bin tacker-vim) || die "cargo build failed"
    fi
fi

# ----- clean-up -----------------------------------------------------------------------------
# shellcheck source=scripts/lib/stop-pid.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/stop-pid.sh"

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    set +e
    for i in "${!PIDS[@]}"; do
        stop_pid "${PIDS[$i]}"
    done
    if [ "$KEEP" = 1 ]; then
        echo "demo: kept database $DB and directory $WORK (DEMO_KEEP=1)" >&2
    else
        if [ -n "$DB" ]; then
            psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc \
                "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 ||
                echo "demo: could not drop database $DB" >&2
        fi
        [ -z "$WORK" ] || rm -rf -- "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
    local i
    for i in "${!NAMES[@]}"; do
        echo "---- last lines of ${NAMES[$i]} log ----" >&2
        tail -n 20 "$WORK/${NAMES[$i]}.log" >&2 2>/dev/null || true
    done
}

fail() {
    printf '\ndemo: FAILED: %s\n' "$*" >&2
    show_logs
    exit 1
}

# ----- helpers ------------------------------------------------------------------------------
# Pretty-prints JSON from stdin (key order kept); anything else is printed as is.
pretty() {
    python3 -c '
import json, sys
raw = sys.stdin.read()
try:
    print(json.dumps(json.loads(raw), indent=2))
except ValueError:
    print(raw)'
}

# jget PATH < json  -- prints the value at a dotted path (list indexes are numbers).
jget() {
    python3 -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(value if isinstance(value, str) else json.dumps(value))' "$1"
}

STEP=0
step() {
    STEP=$((STEP + 1))
    printf '\n### %d. %s\n' "$STEP" "$*"
}

# request LABEL BASE_URL METHOD PATH EXPECTED_STATUS [JSON_BODY]
# Prints the request and the response; sets STATUS and BODY; fails on an unexpected status.
request() {
    local label=$1 base=$2 method=$3 path=$4 expected=$5 body=${6:-}
    local url=$base$path
    local args=(-sS --max-time 30 -X "$method" -H 'Accept: application/json'
        -D "$WORK/response.headers" -o "$WORK/response.body" -w '%{http_code}')
    printf '\n>>> [%s] %s %s\n' "$label" "$method" "$url"
    if [ -n "$body" ]; then
        printf '%s' "$body" | pretty
        args+=(-H 'Content-Type: application/json' --data-binary "$body")
    fi
    : >"$WORK/response.body"
    STATUS=$(curl "${args[@]}" "$url") || fail "$method $url: no response (curl exit $?)"
    printf '<<< %s\n' "$(head -n 1 "$WORK/response.headers" | tr -d '\r')"
    BODY=$(cat "$WORK/response.body")
    if [ -n "$BODY" ]; then
        printf '%s' "$BODY" | pretty
    fi
    [ "$STATUS" = "$expected" ] || fail "$method $url: expected HTTP $expected, got $STATUS"
}

expect_eq() {
    local what=$1 want=$2 got=$3
    [ "$want" = "$got" ] || fail "$what: expected '$want', got '$got'"
}

keystone_auths() {
    curl -sS --max-time 5 "$KEYSTONE/stats" | jget auth_success
}

wait_http_200() {
    local name=$1 pid=$2 url=$3 i
    for i in $(seq 1 600); do
        kill -0 "$pid" 2>/dev/null || fail "$name exited during start-up"
        if [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$url" || true)" = 200 ]; then
            return 0
        fi
        sleep 0.1
    done
    fail "$name did not answer 200 on $url within 60 s"
}

# Start a background process with its output in $WORK/NAME.log and remember its pid.
# OS_* variables of the caller's shell are dropped so that they cannot override the config files.
start() {
    local name=$1
    shift
    local unset_args=() var
    for var in $(compgen -e); do
        case $var in OS_*) unset_args+=(-u "$var") ;; esac
    done
    env "${unset_args[@]}" "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
}

# ----- set-up -------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tacker-vim-demo.XXXXXX")
DB="tacker_demo_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
# The stub accepts only this password, so a successful re-validation on tacker-1 proves that
# tacker-1 decrypted what tacker-0 encrypted.
PASSWORD=demo-secret

echo "== tacker-vim multi-master demo"
echo "binary:    $BIN"
echo "database:  postgresql://$PG_USER@$PG_HOST:$PG_PORT/$DB"
echo "work dir:  $WORK"

psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE \"$DB\"" >/dev/null ||
    fail "could not create database $DB"

for n in 0 1; do
    mkdir -p "$WORK/node$n/fernet_keys" "$WORK/node$n/state"
    chmod 0700 "$WORK/node$n/fernet_keys"
done

echo
echo "== Generating the shared default key once, copying it to node 1"
"$BIN" keys generate --file "$WORK/node0/fernet_keys/default.key" >/dev/null 2>"$WORK/keygen.err" ||
    { cat "$WORK/keygen.err" >&2; fail "keys generate failed"; }
sed 's/^/keys generate: /' "$WORK/keygen.err"
cp -p "$WORK/node0/fernet_keys/default.key" "$WORK/node1/fernet_keys/default.key"
[ "$(stat -c %a "$WORK/node1/fernet_keys/default.key")" = 600 ] || fail "copied key is not mode 0600"
if "$BIN" keys generate --file "$WORK/node0/fernet_keys/default.key" >/dev/null 2>"$WORK/keygen2.err"; then
    fail "keys generate overwrote an existing key file without --force"
fi
echo "keys generate refuses to overwrite it without --force: $(head -n 1 "$WORK/keygen2.err")"

start keystone python3 "$ROOT/scripts/keystone_stub.py" --host 127.0.0.1 --port "$PORT_KS" \
    --password "$PASSWORD" --quiet
KEYSTONE="http://127.0.0.1:$PORT_KS"

for n in 0 1; do
    port_var="PORT_$n"
    cat >"$WORK/node$n/tacker.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${!port_var}
auth_strategy = noauth
state_path = $WORK/node$n/state

[database]
connection = postgresql+psycopg2://$PG_USER@$PG_HOST:$PG_PORT/$DB

[vim_keys]
openstack = $WORK/node$n/fernet_keys
default_secret_key = default.key

[nfvo_vim]
validate_vim = True
validation_timeout = 10
EOF
done

echo
echo "== Starting two instances on one database (both migrate at start-up, under a lock)"
start tacker-0 "$BIN" serve --config-file "$WORK/node0/tacker.conf"
start tacker-1 "$BIN" serve --config-file "$WORK/node1/tacker.conf"
NODE_0="http://127.0.0.1:$PORT_0"
NODE_1="http://127.0.0.1:$PORT_1"
wait_http_200 keystone "${PIDS[0]}" "$KEYSTONE/healthz"
wait_http_200 tacker-0 "${PIDS[1]}" "$NODE_0/"
wait_http_200 tacker-1 "${PIDS[2]}" "$NODE_1/"
echo "tacker-0: $NODE_0  (keys in node0/fernet_keys)"
echo "tacker-1: $NODE_1  (keys in node1/fernet_keys, same default.key)"
echo "keystone: $KEYSTONE/identity"

# ----- the scenario -------------------------------------------------------------------------
step "Register a VIM on tacker-0 (Keystone validates the credentials)"
request tacker-0 "$NODE_0" POST /v1.0/vims 201 "$(cat <<EOF
{"vim": {"tenant_id": "demo-tenant", "name": "VIM0", "type": "openstack",
 "auth_url": "$KEYSTONE/identity",
 "vim_project": {"name": "nfv", "project_domain_name": "Default"},
 "auth_cred": {"username": "nfv_user", "password": "$PASSWORD",
               "user_domain_name": "Default", "cert_verify": "True"},
 "description": "registered on tacker-0", "is_default": false}}
EOF
)"
VIM_ID=$(printf '%s' "$BODY" | jget vim.id)
expect_eq "auth_cred.password in the response" '***' "$(printf '%s' "$BODY" | jget vim.auth_cred.password)"
expect_eq "placement_attr.regions" '["RegionOne"]' "$(printf '%s' "$BODY" | jget vim.placement_attr.regions)"
AUTHS_AFTER_CREATE=$(keystone_auths)

step "Show it on tacker-1"
request tacker-1 "$NODE_1" GET "/v1.0/vims/$VIM_ID" 200
expect_eq "id shown by tacker-1" "$VIM_ID" "$(printf '%s' "$BODY" | jget vim.id)"

step "Update it on tacker-1: a new project makes tacker-1 decrypt the stored password and re-validate"
request tacker-1 "$NODE_1" PUT "/v1.0/vims/$VIM_ID" 200 \
    '{"vim": {"vim_project": {"name": "nfv-2", "project_domain_name": "Default"}, "description": "updated on tacker-1"}}'
expect_eq "vim_project.name after update" nfv-2 "$(printf '%s' "$BODY" | jget vim.vim_project.name)"
AUTHS_AFTER_UPDATE=$(keystone_auths)
if [ "$AUTHS_AFTER_UPDATE" -le "$AUTHS_AFTER_CREATE" ]; then
    fail "tacker-1 did not authenticate to Keystone on update (successful authentications: $AUTHS_AFTER_CREATE before, $AUTHS_AFTER_UPDATE after)"
fi
echo "Keystone accepted $((AUTHS_AFTER_UPDATE - AUTHS_AFTER_CREATE)) authentication(s) from tacker-1 with the password encrypted by tacker-0."

step "Delete it on tacker-1"
request tacker-1 "$NODE_1" DELETE "/v1.0/vims/$VIM_ID" 204

step "It is gone on both instances"
for n in 0 1; do
    base_var="NODE_$n"
    request "tacker-$n" "${!base_var}" GET "/v1.0/vims/$VIM_ID" 404
    expect_eq "error type on tacker-$n" VimNotFoundException "$(printf '%s' "$BODY" | jget TackerError.type)"
done

for n in 0 1; do
    kill -0 "${PIDS[$((n + 1))]}" 2>/dev/null || fail "tacker-$n is no longer running"
done
echo
echo "== OK: registered on tacker-0; shown, updated and deleted on tacker-1; gone on both."
