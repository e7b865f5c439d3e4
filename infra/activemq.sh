# shellcheck shell=bash
# ActiveMQ Classic 5.18 (the broker family behind Amazon MQ) with only its STOMP transport.

ACTIVEMQ_VERSION="5.18.3"
ACTIVEMQ_DIST="$CACHE_DIR/activemq/apache-activemq-$ACTIVEMQ_VERSION"
ACTIVEMQ_BASE="$RUN_DIR/activemq"

activemq_fetch() {
  [ -f "$ACTIVEMQ_DIST/bin/activemq.jar" ] && return 0
  require_tool mvn activemq "install Apache Maven"
  say "activemq: fetching apache-activemq $ACTIVEMQ_VERSION from Maven Central"
  mkdir -p "$CACHE_DIR/activemq"
  mvn -q -B -Dmaven.repo.local="$MAVEN_REPO" dependency:copy \
    -Dartifact="org.apache.activemq:apache-activemq:$ACTIVEMQ_VERSION:tar.gz:bin" \
    -DoutputDirectory="$CACHE_DIR/activemq" >"$LOG_DIR/activemq-fetch.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/activemq-fetch.log" >&2; fail "activemq: Maven could not fetch the distribution."; }
  tar -xzf "$CACHE_DIR/activemq/apache-activemq-$ACTIVEMQ_VERSION-bin.tar.gz" -C "$CACHE_DIR/activemq"
  rm -f "$CACHE_DIR/activemq/apache-activemq-$ACTIVEMQ_VERSION-bin.tar.gz"
}

activemq_health() {
  port_open "$STOMP_PORT" && logged_since_start activemq "Apache ActiveMQ .* started"
}

activemq_launch() {
  local conf="$ACTIVEMQ_BASE/conf"
  mkdir -p "$conf" "$ACTIVEMQ_BASE/data"
  cp "$INFRA_DIR/conf/activemq-log4j2.properties" "$conf/log4j2.properties"
  cat >"$conf/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
                           http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="local" useJmx="false"
          persistent="true" dataDirectory="$ACTIVEMQ_BASE/data" schedulerSupport="false">
    <persistenceAdapter>
      <kahaDB directory="$ACTIVEMQ_BASE/data/kahadb"/>
    </persistenceAdapter>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
          <authenticationUser username="$STOMP_USER" password="$STOMP_PASSWORD" groups="users"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="stomp"
          uri="stomp://127.0.0.1:$STOMP_PORT?maximumConnections=1000&amp;wireFormat.maxFrameSize=104857600"/>
    </transportConnectors>
  </broker>
</beans>
XML
  launch activemq java -Xms64m -Xmx512m -Djava.awt.headless=true \
    -Dactivemq.home="$ACTIVEMQ_DIST" -Dactivemq.base="$ACTIVEMQ_BASE" \
    -Dactivemq.conf="$conf" -Dactivemq.data="$ACTIVEMQ_BASE/data" -Dactivemq.classpath="$conf" \
    -Dlog4j2.configurationFile="$conf/log4j2.properties" \
    -jar "$ACTIVEMQ_DIST/bin/activemq.jar" start "xbean:file:$conf/activemq.xml"
}

activemq_start() {
  require_tool java activemq "install a Java 17+ runtime"
  activemq_fetch
  start_server activemq "$STOMP_PORT" activemq_health activemq_launch
}
