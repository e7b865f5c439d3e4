# shellcheck shell=bash
# ElasticMQ, an SQS-compatible server that speaks the SQS JSON protocol.

ELASTICMQ_HOME="$RUN_DIR/elasticmq"

elasticmq_fetch() {
  maven_classpath elasticmq
}

elasticmq_health() {
  port_open "$SQS_PORT" && curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$SQS_PORT/?Action=ListQueues" 2>/dev/null
}

elasticmq_launch() {
  mkdir -p "$ELASTICMQ_HOME"
  cat >"$ELASTICMQ_HOME/elasticmq.conf" <<CONF
include classpath("application.conf")
node-address {
  protocol = http
  host = 127.0.0.1
  port = $SQS_PORT
  context-path = ""
}
rest-sqs {
  enabled = true
  bind-port = $SQS_PORT
  bind-hostname = "127.0.0.1"
  sqs-limits = strict
}
rest-stats {
  enabled = false
}
aws {
  region = us-east-1
  accountId = 000000000000
}
CONF
  launch elasticmq java -Xms64m -Xmx384m -Djava.awt.headless=true \
    -Dconfig.file="$ELASTICMQ_HOME/elasticmq.conf" \
    -cp "$CACHE_DIR/elasticmq/lib/*" org.elasticmq.server.Main
}

elasticmq_start() {
  require_tool java elasticmq "install a Java 17+ runtime"
  require_tool curl elasticmq "install curl"
  elasticmq_fetch
  start_server elasticmq "$SQS_PORT" elasticmq_health elasticmq_launch
}
