#!/usr/bin/env bash
# Run the whole test suite against real servers: start those not running, stop them afterwards.
# pytest's exit code 5 ("no tests collected") is a failure here.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
INFRA=infra/infra.sh
SERVERS=(kafka mongodb elasticmq activemq)

started=()
for s in "${SERVERS[@]}"; do
  if ! "$INFRA" status "$s" >/dev/null 2>&1; then started+=("$s"); fi
done
cleanup() {
  if [ "${#started[@]}" -gt 0 ]; then "$INFRA" down "${started[@]}" >/dev/null; fi
}
trap cleanup EXIT
"$INFRA" up || exit 1

export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
export MONGODB_URI="${MONGODB_URI:-mongodb://127.0.0.1:${MONGODB_PORT:-27017}}"
export SQS_ENDPOINT_URL="${SQS_ENDPOINT_URL:-http://127.0.0.1:${SQS_PORT:-9324}}"
export STOMP_URL="${STOMP_URL:-stomp://${STOMP_USER:-integrations}:${STOMP_PASSWORD:-integrations}@127.0.0.1:${STOMP_PORT:-61613}}"

.venv/bin/pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "ERROR: pytest collected no tests; that is a failure here." >&2
  exit 1
fi
exit "$rc"
