#!/usr/bin/env bash
# Runs a CoreDNS instance in the background (built by install.sh). See deploy/coredns/README.md.
#
#   coredns.sh start  --corefile FILE [--name NAME] [--netns NS]   start; waits for the ready endpoint
#   coredns.sh stop   [--name NAME] [--signal SIG]                 stop it (SIG=KILL simulates a crash)
#   coredns.sh reload [--name NAME]                                SIGUSR1: re-read the Corefile
#   coredns.sh status [--name NAME]                                running + ready? (exit 1 if not)
#
# NAME defaults to "default". The ready address is read from the Corefile's `ready ADDR` line
# (else its `health ADDR`); with --netns the check runs inside that namespace.
# State: ${SWITCHYARD_STATE_DIR:-<repo>/.state}/coredns/<NAME>/{coredns.pid,coredns.log,netns}
set -euo pipefail
SWY_LOG_TAG=coredns
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

CMD="${1:-}"
[ -n "$CMD" ] || usage
shift
NAME=default
COREFILE=""
NETNS=""
SIGNAL=TERM
while [ $# -gt 0 ]; do
  case "$1" in
  --corefile)
    COREFILE="${2:-}"
    shift
    ;;
  --name)
    NAME="${2:-}"
    shift
    ;;
  --netns)
    NETNS="${2:-}"
    shift
    ;;
  --signal)
    SIGNAL="${2:-}"
    shift
    ;;
  -h | --help) usage ;;
  *) swy_die "unknown argument: $1" ;;
  esac
  shift
done
[[ "$NAME" =~ ^[A-Za-z0-9._-]+$ ]] || swy_die "bad --name: $NAME"

DIR="$SWY_STATE_DIR/coredns/$NAME"
PIDFILE="$DIR/coredns.pid"
LOG="$DIR/coredns.log"

# The namespace and Corefile a running instance was started with (for status/stop/reload).
[ -n "$NETNS" ] || NETNS="$(cat "$DIR/netns" 2>/dev/null || true)"
[ -n "$COREFILE" ] || COREFILE="$(cat "$DIR/corefile" 2>/dev/null || true)"

in_ns() {
  if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

# probe_url: http://ADDR/ready (or /health) from the Corefile.
probe_url() {
  local addr
  addr="$(sed -n 's/^[[:space:]]*ready[[:space:]]\{1,\}\([^[:space:]{]\{1,\}\).*/\1/p' "$COREFILE" | head -n1)"
  if [ -n "$addr" ]; then
    echo "http://$addr/ready"
    return
  fi
  addr="$(sed -n 's/^[[:space:]]*health[[:space:]]\{1,\}\([^[:space:]{]\{1,\}\).*/\1/p' "$COREFILE" | head -n1)"
  [ -n "$addr" ] || swy_die "$COREFILE has neither 'ready ADDR' nor 'health ADDR': cannot tell when it is up"
  echo "http://$addr/health"
}

probe() { in_ns curl -fsS --max-time 1 -o /dev/null "$(probe_url)"; }

case "$CMD" in
start)
  [ -n "$COREFILE" ] || swy_die "start needs --corefile FILE"
  [ -f "$COREFILE" ] || swy_die "no such Corefile: $COREFILE"
  COREFILE="$(cd "$(dirname "$COREFILE")" && pwd)/$(basename "$COREFILE")"
  if [ -n "$NETNS" ] && ! ip netns list | grep -qw "$NETNS"; then
    swy_die "namespace $NETNS does not exist (deploy/lab/lab.sh up)"
  fi
  swy_ensure_cmd curl curl
  mkdir -p "$DIR"
  if swy_pid_matches "$PIDFILE" coredns; then
    swy_log "$NAME already running (pid $(cat "$PIDFILE"))"
    exit 0
  fi
  BIN="$("$SWY_REPO_ROOT/deploy/coredns/install.sh")"
  printf '%s\n' "$NETNS" >"$DIR/netns"
  printf '%s\n' "$COREFILE" >"$DIR/corefile"
  swy_log "starting $NAME with $COREFILE${NETNS:+ in netns $NETNS}"
  echo "--- $(date -Is) start $COREFILE" >>"$LOG"
  # shellcheck disable=SC2046
  (cd "$DIR" && exec nohup $([ -n "$NETNS" ] && echo ip netns exec "$NETNS") \
    "$BIN" -conf "$COREFILE" </dev/null >>"$LOG" 2>&1) &
  echo $! >"$PIDFILE"
  if ! swy_wait_running 30 "CoreDNS $NAME to be ready ($(probe_url))" "$PIDFILE" probe; then
    swy_pid_alive "$PIDFILE" || swy_log "CoreDNS $NAME exited"
    swy_tail_log "$LOG"
    swy_stop_pidfile "$PIDFILE" coredns 5
    exit 1
  fi
  swy_log "$NAME ready (pid $(cat "$PIDFILE"))"
  ;;
stop)
  if swy_pid_matches "$PIDFILE" coredns; then swy_log "stopping $NAME (SIG$SIGNAL)"; fi
  swy_stop_pidfile "$PIDFILE" coredns 10 "$SIGNAL"
  ;;
reload)
  swy_pid_matches "$PIDFILE" coredns || swy_die "$NAME is not running"
  kill -USR1 "$(cat "$PIDFILE")"
  ;;
status)
  if ! swy_pid_matches "$PIDFILE" coredns; then
    echo "$NAME stopped"
    exit 1
  fi
  if [ -n "$COREFILE" ] && probe >/dev/null 2>&1; then
    echo "$NAME running pid $(cat "$PIDFILE") ready"
  else
    echo "$NAME running pid $(cat "$PIDFILE") not-ready"
    exit 1
  fi
  ;;
*) usage ;;
esac
