# shellcheck shell=bash
# The local MongoDB wire-protocol store: mongo-java-server 1.47 on its in-memory backend, with a
# snapshot (.run/mongodb/snapshot.bson) saved before a graceful stop and loaded after the start.
#
# It replaced FerretDB 1.24, whose update command leaks one pooled connection per matched update
# and deadlocks a database for good at 100 in one command (50 on its PostgreSQL backend); see
# docs/architecture.md, "The local store".

MONGODB_HOME="$RUN_DIR/mongodb"
MONGODB_HEAP="${MONGODB_HEAP:-4g}"
MONGODB_WORKERS="${MONGODB_WORKERS:-256}"
MONGODB_SNAPSHOT="$MONGODB_HOME/snapshot.bson"
SNAPSHOT_PYTHON="$REPO_DIR/.venv/bin/python"

mongodb_fetch() {
  maven_classpath mongodb
  local classes="$CACHE_DIR/mongodb/classes" stamp="$CACHE_DIR/mongodb/classes/.compiled" source
  local fresh=1
  for source in "$INFRA_DIR"/mongodb/*.java "$CACHE_DIR/mongodb/lib/.complete"; do
    [ -f "$stamp" ] && [ "$stamp" -nt "$source" ] || fresh=0
  done
  if [ "$fresh" = 1 ]; then return 0; fi
  require_tool javac mongodb "install a Java 17+ JDK"
  rm -rf "$classes" && mkdir -p "$classes"
  javac -d "$classes" -cp "$CACHE_DIR/mongodb/lib/*" "$INFRA_DIR"/mongodb/*.java \
    >"$LOG_DIR/mongodb-fetch.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/mongodb-fetch.log" >&2; fail "mongodb: javac failed (see $LOG_DIR/mongodb-fetch.log)."; }
  touch "$stamp"
}

mongodb_health() {
  port_open "$MONGODB_PORT"
}

mongodb_launch() {
  MONGODB_LAUNCHED=1
  mkdir -p "$MONGODB_HOME"
  launch mongodb java -Xms128m "-Xmx$MONGODB_HEAP" -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$CACHE_DIR/mongodb/classes:$CACHE_DIR/mongodb/lib/*" LocalMongo "$MONGODB_PORT" "$MONGODB_WORKERS"
}

# mongodb_snapshot save|load: keep the in-memory data across a graceful stop (needs `make install`).
mongodb_snapshot() {
  if [ ! -x "$SNAPSHOT_PYTHON" ]; then
    say "mongodb: no project Python yet (make install), snapshot $1 skipped"
    return 0
  fi
  "$SNAPSHOT_PYTHON" "$INFRA_DIR/mongodb_snapshot.py" "$1" "mongodb://127.0.0.1:$MONGODB_PORT" "$MONGODB_SNAPSHOT" \
    || say "mongodb: snapshot $1 failed" >&2
}

mongodb_start() {
  require_tool java mongodb "install a Java 17+ runtime"
  mongodb_fetch
  start_server mongodb "$MONGODB_PORT" mongodb_health mongodb_launch
  if [ -n "${MONGODB_LAUNCHED:-}" ] && [ -f "$MONGODB_SNAPSHOT" ]; then mongodb_snapshot load; fi
}

mongodb_before_stop() {
  if running_pid mongodb >/dev/null && mongodb_health; then mongodb_snapshot save; fi
}
