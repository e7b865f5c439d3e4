# shellcheck shell=bash
# FerretDB 1.24 on its SQLite backend, the local MongoDB wire-compatible store.

FERRETDB_BIN="$CACHE_DIR/bin/ferretdb"

ferretdb_fetch() {
  if [ -x "$FERRETDB_BIN" ] && [ "$FERRETDB_BIN" -nt "$INFRA_DIR/ferretdb/go.mod" ] \
    && [ "$FERRETDB_BIN" -nt "$INFRA_DIR/ferretdb/main.go" ]; then
    return 0
  fi
  require_tool go ferretdb "install Go 1.24+"
  say "ferretdb: building FerretDB from the Go module proxy into $FERRETDB_BIN"
  mkdir -p "$CACHE_DIR/bin"
  (cd "$INFRA_DIR/ferretdb" && go build -trimpath -o "$FERRETDB_BIN" .) >"$LOG_DIR/ferretdb-fetch.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/ferretdb-fetch.log" >&2; fail "ferretdb: the Go build failed (see $LOG_DIR/ferretdb-fetch.log)."; }
}

ferretdb_health() {
  port_open "$MONGODB_PORT"
}

ferretdb_launch() {
  launch ferretdb "$FERRETDB_BIN" --listen-addr "127.0.0.1:$MONGODB_PORT" --sqlite-dir "$RUN_DIR/ferretdb/data"
}

ferretdb_start() {
  ferretdb_fetch
  start_server ferretdb "$MONGODB_PORT" ferretdb_health ferretdb_launch
}
