# shellcheck shell=bash
# Apache Kafka 4.0 in KRaft mode: one combined broker and controller node.

KAFKA_HOME="$RUN_DIR/kafka"

kafka_fetch() {
  maven_classpath kafka
}

kafka_health() {
  port_open "$KAFKA_PORT" && logged_since_start kafka "Kafka Server started"
}

kafka_launch() {
  local lib="$CACHE_DIR/kafka/lib" props="$KAFKA_HOME/server.properties" cluster_id
  mkdir -p "$KAFKA_HOME/data"
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_HOME/data
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
PROPS
  if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
    cluster_id="$(java -cp "$lib/*" kafka.tools.StorageTool random-uuid 2>>"$(log_file kafka)" | tail -n 1)"
    java -cp "$lib/*" -Dlog4j2.configurationFile="$INFRA_DIR/conf/kafka-log4j2.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >>"$(log_file kafka)" 2>&1 \
      || { tail_log kafka; fail "kafka: formatting the KRaft storage failed."; }
  fi
  launch kafka java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$INFRA_DIR/conf/kafka-log4j2.properties" \
    -cp "$lib/*" kafka.Kafka "$props"
}

kafka_start() {
  require_tool java kafka "install a Java 17+ runtime"
  kafka_fetch
  start_server kafka "$KAFKA_PORT" kafka_health kafka_launch "$KAFKA_CONTROLLER_PORT"
}
