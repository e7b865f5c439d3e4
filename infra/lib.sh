# shellcheck shell=bash
# Shared helpers for the local infrastructure scripts: paths, tool checks, ports, processes.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$INFRA_DIR/.." && pwd)"
CACHE_DIR="${INFRA_CACHE_DIR:-$REPO_DIR/.cache/infra}"
RUN_DIR="${INFRA_RUN_DIR:-$REPO_DIR/.run}"
LOG_DIR="$RUN_DIR/logs"
START_TIMEOUT="${INFRA_START_TIMEOUT:-90}"
MAVEN_REPO="${INFRA_MAVEN_REPO:-$REPO_DIR/.cache/m2}"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
MONGODB_PORT="${MONGODB_PORT:-27017}"
SQS_PORT="${SQS_PORT:-9324}"
STOMP_PORT="${STOMP_PORT:-61613}"
STOMP_USER="${STOMP_USER:-integrations}"
STOMP_PASSWORD="${STOMP_PASSWORD:-integrations}"

mkdir -p "$CACHE_DIR" "$LOG_DIR"

say() { printf '%s\n' "$*"; }
fail() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# require_tool NAME SERVER HINT: fail with one clear line when a tool is missing.
require_tool() {
  command -v "$1" >/dev/null 2>&1 || fail "$2 needs '$1' on PATH, and it is missing ($3)."
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

# running_pid NAME: print the pid of our running server NAME, or nothing.
running_pid() {
  local f pid
  f="$(pid_file "$1")"
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    printf '%s' "$pid"
    return 0
  fi
  rm -f "$f"
  return 1
}

# logged_since_start NAME PATTERN: true when PATTERN appears in the log after the latest start.
logged_since_start() {
  awk -v marker="==== " -v pat="$2" '
    index($0, marker) == 1 { found = 0; next }
    $0 ~ pat { found = 1 }
    END { exit !found }' "$(log_file "$1")" 2>/dev/null
}

# launch NAME CMD...: start CMD in its own session, logging to the server's log file.
launch() {
  local name="$1"; shift
  local log
  log="$(log_file "$name")"
  printf '\n==== %s starting %s ====\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
  (close_inherited_fds; exec setsid "$@") >>"$log" 2>&1 </dev/null &
  printf '%s' "$!" >"$(pid_file "$name")"
}

# close_inherited_fds: close every file descriptor above 2 of this (sub)shell. A server outlives
# whoever started it and must not keep their open files: a caller's `flock` on a lock file
# would otherwise stay held for the server's whole life.
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# tail_log NAME: the end of a server's log (its error lines first, when it has any), indented.
tail_log() {
  local log errors
  log="$(log_file "$1")"
  errors="$(grep -E 'ERROR|FATAL|Caused by|Exception:|panic:' "$log" 2>/dev/null | tail -n 8)"
  if [ -n "$errors" ]; then
    say "---- error lines in $log ----" >&2
    printf '%s\n' "$errors" | cut -c1-300 | sed 's/^/  /' >&2
  fi
  say "---- last lines of $log ----" >&2
  tail -n 15 "$log" 2>/dev/null | cut -c1-300 | sed 's/^/  /' >&2
}

# stop_server NAME: SIGTERM the server's process group, then SIGKILL after a grace period.
stop_server() {
  local name="$1" pid i
  pid="$(running_pid "$name")" || { say "$name: not running"; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name: did not stop within 20s, killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
  say "$name: stopped"
}

# start_server NAME PORT HEALTH_FN LAUNCH_FN [OTHER_PORT...]: idempotent start, bounded health check.
start_server() {
  local name="$1" port="$2" health="$3" launcher="$4" pid deadline other
  shift 4
  if ! running_pid "$name" >/dev/null; then
    for other in "$@"; do
      port_open "$other" && fail "$name cannot start: port $other on 127.0.0.1 is busy with another process (free it, or set another port through the environment)."
    done
  fi
  if pid="$(running_pid "$name")"; then
    if "$health"; then
      say "$name: already running (pid $pid) on 127.0.0.1:$port"
      return 0
    fi
  elif port_open "$port"; then
    fail "$name cannot start: port $port on 127.0.0.1 is busy with another process (free it, or set another port through the environment)."
  fi
  if [ -z "${pid:-}" ]; then
    "$launcher"
    pid="$(running_pid "$name")" || true
  fi
  deadline=$((SECONDS + START_TIMEOUT))
  until "$health"; do
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      say "ERROR: $name exited during start-up." >&2
      tail_log "$name"
      rm -f "$(pid_file "$name")"
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "ERROR: $name did not become healthy on 127.0.0.1:$port within ${START_TIMEOUT}s." >&2
      tail_log "$name"
      stop_server "$name" >/dev/null
      exit 1
    fi
    sleep 0.3
  done
  say "$name: up (pid $pid) on 127.0.0.1:$port, log $(log_file "$name")"
}

# maven_classpath NAME: resolve infra/maven/NAME/pom.xml's runtime jars into the cache.
maven_classpath() {
  local name="$1" dest="$CACHE_DIR/$1/lib"
  if [ -f "$dest/.complete" ] && [ "$dest/.complete" -nt "$INFRA_DIR/maven/$name/pom.xml" ]; then
    return 0
  fi
  require_tool mvn "$name" "install Apache Maven"
  say "$name: resolving jars from Maven Central into $dest"
  rm -rf "$dest"
  mvn -q -B -f "$INFRA_DIR/maven/$name/pom.xml" -Dmaven.repo.local="$MAVEN_REPO" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest" \
    >"$LOG_DIR/$name-fetch.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/$name-fetch.log" >&2; fail "$name: Maven could not resolve its jars (see $LOG_DIR/$name-fetch.log)."; }
  touch "$dest/.complete"
}
