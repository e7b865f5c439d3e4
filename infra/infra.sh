#!/usr/bin/env bash
# Fetch, start, health-check and stop the local servers the platform needs, without Docker.
#
#   infra/infra.sh up     [kafka|mongodb|elasticmq|activemq ...]
#   infra/infra.sh down   [...]
#   infra/infra.sh status [...]
#   infra/infra.sh fetch  [...]
#   infra/infra.sh reset       stop everything and delete local data (keeps the download cache)
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for server in kafka mongodb elasticmq activemq; do
  # shellcheck disable=SC1090
  source "$INFRA_DIR/$server.sh"
done

ALL_SERVERS=(kafka mongodb elasticmq activemq)
action="${1:-}"
shift || true
servers=("$@")
[ "${#servers[@]}" -gt 0 ] || servers=("${ALL_SERVERS[@]}")
for s in "${servers[@]}"; do
  case " ${ALL_SERVERS[*]} " in *" $s "*) ;; *) fail "unknown server '$s' (known: ${ALL_SERVERS[*]})" ;; esac
done

case "$action" in
  up)
    for s in "${servers[@]}"; do "${s}_start"; done ;;
  fetch)
    for s in "${servers[@]}"; do "${s}_fetch"; done ;;
  down)
    for s in "${servers[@]}"; do
      if declare -F "${s}_before_stop" >/dev/null; then "${s}_before_stop"; fi
      stop_server "$s"
    done ;;
  status)
    rc=0
    for s in "${servers[@]}"; do
      if pid="$(running_pid "$s")" && "${s}_health"; then say "$s: healthy (pid $pid)";
      else say "$s: not running"; rc=3; fi
    done
    exit "$rc" ;;
  reset)
    for s in "${ALL_SERVERS[@]}"; do stop_server "$s"; done
    rm -rf "$RUN_DIR/kafka" "$RUN_DIR/mongodb" "$RUN_DIR/ferretdb" "$RUN_DIR/elasticmq" "$RUN_DIR/activemq"
    say "local data deleted" ;;
  *)
    fail "usage: infra/infra.sh up|down|status|fetch|reset [${ALL_SERVERS[*]}]" ;;
esac
