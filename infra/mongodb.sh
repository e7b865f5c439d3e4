# shellcheck shell=bash
# The local MongoDB wire-protocol store: mongo-java-server 1.47 on its H2 backend (one data file).
#
# It replaced FerretDB 1.24, whose update command leaks one pooled connection per matched update
# and deadlocks a database for good at 100 in one command (50 on its PostgreSQL backend); see
# docs/architecture.md, "The local store".

MONGODB_HOME="$RUN_DIR/mongodb"
MONGODB_HEAP="${MONGODB_HEAP:-1536m}"
MONGODB_CACHE_MB="${MONGODB_CACHE_MB:-512}"
MONGODB_WORKERS="${MONGODB_WORKERS:-256}"

mongodb_fetch() {
  maven_classpath mongodb
  local classes="$CACHE_DIR/mongodb/classes"
  if [ -f "$classes/LocalMongo.class" ] && [ "$classes/LocalMongo.class" -nt "$INFRA_DIR/mongodb/LocalMongo.java" ] \
    && [ "$classes/LocalMongo.class" -nt "$CACHE_DIR/mongodb/lib/.complete" ]; then
    return 0
  fi
  require_tool javac mongodb "install a Java 17+ JDK"
  mkdir -p "$classes"
  javac -d "$classes" -cp "$CACHE_DIR/mongodb/lib/*" "$INFRA_DIR/mongodb/LocalMongo.java" \
    >"$LOG_DIR/mongodb-fetch.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/mongodb-fetch.log" >&2; fail "mongodb: javac failed (see $LOG_DIR/mongodb-fetch.log)."; }
}

mongodb_health() {
  port_open "$MONGODB_PORT"
}

mongodb_launch() {
  mkdir -p "$MONGODB_HOME"
  launch mongodb java -Xms128m "-Xmx$MONGODB_HEAP" -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$CACHE_DIR/mongodb/classes:$CACHE_DIR/mongodb/lib/*" LocalMongo "$MONGODB_PORT" "$MONGODB_HOME/data.mv" "$MONGODB_CACHE_MB" "$MONGODB_WORKERS"
}

mongodb_start() {
  require_tool java mongodb "install a Java 17+ runtime"
  mongodb_fetch
  start_server mongodb "$MONGODB_PORT" mongodb_health mongodb_launch
}
