#!/usr/bin/env bash
# Runs etcd for Switchyard's DNS discovery layer: a single node, a three-node cluster, or a single
# node inside the DNS lab's etcd namespace. See deploy/etcd/README.md.
#
#   etcd.sh start     [single|cluster|lab] [--member N]   start (all members, or member N); waits
#                                                         until healthy
#   etcd.sh stop      [single|cluster|lab] [--member N]   stop what this script started (pid files)
#   etcd.sh wipe      [single|cluster|lab]                stop, then delete the data dirs
#   etcd.sh status    [single|cluster|lab]                one line per member; exit 1 if any is down
#   etcd.sh endpoints [single|cluster|lab]                the client URLs, comma-separated
#
# Profiles (ports are fixed by the project's port plan):
#   single   127.0.0.1 client 2379, peer 2380 (or $SWITCHYARD_ETCD_CLIENT_PORT/_PEER_PORT)
#   cluster  127.0.0.1 clients 23791-23793, peers 23801-23803 (members 1-3)
#   lab      inside netns $LAB_NS_ETCD at $LAB_ETCD_IP, client 2379, peer 2380 (deploy/lab/lab.sh up)
# State: ${SWITCHYARD_STATE_DIR:-<repo>/.state}/etcd/<profile>/<member>/{data,etcd.pid,etcd.log}
# Another state dir and SWITCHYARD_ETCD_CLIENT_PORT/SWITCHYARD_ETCD_PEER_PORT give a second,
# independent single etcd (tests/dns/deploy_scripts_test.ts); SWITCHYARD_LAB_ENV another lab.env.
set -euo pipefail
SWY_LOG_TAG=etcd
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "${SWITCHYARD_LAB_ENV:-$SWY_REPO_ROOT/deploy/lab/lab.env}"

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

CMD="${1:-}"
[ -n "$CMD" ] || usage
shift
PROFILE=single
MEMBER=""
while [ $# -gt 0 ]; do
  case "$1" in
  single | cluster | lab) PROFILE="$1" ;;
  --member)
    MEMBER="${2:-}"
    shift
    ;;
  --member=*) MEMBER="${1#--member=}" ;;
  -h | --help) usage ;;
  *) swy_die "unknown argument: $1" ;;
  esac
  shift
done

HOST=127.0.0.1
NETNS=""
case "$PROFILE" in
single | lab) COUNT=1 ;;
cluster) COUNT=3 ;;
esac
if [ "$PROFILE" = lab ]; then
  HOST="$LAB_ETCD_IP"
  NETNS="$LAB_NS_ETCD"
fi
if [ -n "$MEMBER" ]; then
  [[ "$MEMBER" =~ ^[0-9]+$ ]] && ((MEMBER >= 1 && MEMBER <= COUNT)) ||
    swy_die "--member must be 1..$COUNT for profile $PROFILE"
fi

SINGLE_CLIENT_PORT="${SWITCHYARD_ETCD_CLIENT_PORT:-2379}"
SINGLE_PEER_PORT="${SWITCHYARD_ETCD_PEER_PORT:-2380}"
for p in "$SINGLE_CLIENT_PORT" "$SINGLE_PEER_PORT"; do
  [[ "$p" =~ ^[0-9]{1,5}$ ]] && ((p >= 1 && p <= 65535)) ||
    swy_die "SWITCHYARD_ETCD_CLIENT_PORT/SWITCHYARD_ETCD_PEER_PORT must be ports 1-65535, got $p"
done
[ "$SINGLE_CLIENT_PORT" != "$SINGLE_PEER_PORT" ] ||
  swy_die "SWITCHYARD_ETCD_CLIENT_PORT and SWITCHYARD_ETCD_PEER_PORT must differ"

BASE="$SWY_STATE_DIR/etcd/$PROFILE"

# member_name I / client_port I / peer_port I
member_name() { if [ "$PROFILE" = cluster ]; then echo "m$1"; else echo "$PROFILE"; fi; }
client_port() {
  case "$PROFILE" in
  single) echo "$SINGLE_CLIENT_PORT" ;;
  lab) echo "$LAB_ETCD_CLIENT_PORT" ;;
  cluster) echo $((23790 + $1)) ;;
  esac
}
peer_port() {
  case "$PROFILE" in
  single) echo "$SINGLE_PEER_PORT" ;;
  lab) echo "$LAB_ETCD_PEER_PORT" ;;
  cluster) echo $((23800 + $1)) ;;
  esac
}
client_url() { echo "http://$HOST:$(client_port "$1")"; }
peer_url() { echo "http://$HOST:$(peer_port "$1")"; }
member_dir() { echo "$BASE/$(member_name "$1")"; }
pidfile() { echo "$(member_dir "$1")/etcd.pid"; }

# in_ns CMD...: runs CMD inside the profile's namespace (or directly).
in_ns() {
  if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

members() {
  if [ -n "$MEMBER" ]; then echo "$MEMBER"; else seq 1 "$COUNT"; fi
}

initial_cluster() {
  local i out=""
  for i in $(seq 1 "$COUNT"); do out+="${out:+,}$(member_name "$i")=$(peer_url "$i")"; done
  echo "$out"
}

endpoints() {
  local i out=""
  for i in $(seq 1 "$COUNT"); do out+="${out:+,}$(client_url "$i")"; done
  echo "$out"
}

healthy() { in_ns etcdctl --endpoints="$(client_url "$1")" --dial-timeout=1s --command-timeout=2s endpoint health; }

ensure_binaries() {
  swy_ensure_cmd etcd etcd-server
  swy_ensure_cmd etcdctl etcd-client
  if [ -n "$NETNS" ] && ! ip netns list | grep -qw "$NETNS"; then
    swy_die "namespace $NETNS does not exist: run deploy/lab/lab.sh up first"
  fi
}

start_member() {
  local i="$1" dir pf log name cport pport
  dir="$(member_dir "$i")"
  pf="$(pidfile "$i")"
  log="$dir/etcd.log"
  name="$(member_name "$i")"
  if swy_pid_matches "$pf" etcd; then
    swy_log "$name already running (pid $(cat "$pf"))"
    return 0
  fi
  cport="$(client_port "$i")"
  pport="$(peer_port "$i")"
  for p in "$cport" "$pport"; do
    if in_ns ss -ltnH "sport = :$p" | grep -q "$HOST:$p\|\*:$p\|0.0.0.0:$p"; then
      swy_die "port $HOST:$p is already in use by a process this script did not start"
    fi
  done
  mkdir -p "$dir/data"
  chmod 700 "$dir/data"
  swy_log "starting $name: client $(client_url "$i") peer $(peer_url "$i")${NETNS:+ in netns $NETNS}"
  echo "--- $(date -Is) start" >>"$log"
  # shellcheck disable=SC2046
  nohup $([ -n "$NETNS" ] && echo ip netns exec "$NETNS") etcd \
    --name "$name" \
    --data-dir "$dir/data" \
    --listen-client-urls "$(client_url "$i")" \
    --advertise-client-urls "$(client_url "$i")" \
    --listen-peer-urls "$(peer_url "$i")" \
    --initial-advertise-peer-urls "$(peer_url "$i")" \
    --initial-cluster "$(initial_cluster)" \
    --initial-cluster-token "switchyard-$PROFILE" \
    --initial-cluster-state new \
    --auto-compaction-mode periodic --auto-compaction-retention 1h \
    --logger zap --log-outputs stderr \
    </dev/null >>"$log" 2>&1 &
  echo $! >"$pf"
}

wait_member() {
  local i="$1" name
  name="$(member_name "$i")"
  if ! swy_wait_running 60 "$name to be healthy" "$(pidfile "$i")" healthy "$i"; then
    swy_pid_alive "$(pidfile "$i")" || swy_log "$name exited"
    swy_tail_log "$(member_dir "$i")/etcd.log"
    return 1
  fi
  swy_log "$name healthy at $(client_url "$i")"
}

case "$CMD" in
start)
  ensure_binaries
  for i in $(members); do start_member "$i"; done
  rc=0
  for i in $(members); do wait_member "$i" || rc=1; done
  exit "$rc"
  ;;
stop)
  for i in $(members); do
    if swy_pid_matches "$(pidfile "$i")" etcd; then swy_log "stopping $(member_name "$i")"; fi
    swy_stop_pidfile "$(pidfile "$i")" etcd 15
  done
  ;;
wipe)
  [ -z "$MEMBER" ] || swy_die "wipe takes no --member (a member's data is wiped with its cluster)"
  for i in $(members); do swy_stop_pidfile "$(pidfile "$i")" etcd 15; done
  rm -rf "$BASE"
  swy_log "wiped $BASE"
  ;;
status)
  rc=0
  for i in $(members); do
    pf="$(pidfile "$i")"
    if swy_pid_matches "$pf" etcd; then
      if healthy "$i" >/dev/null 2>&1; then h=healthy; else h=unhealthy; fi
      echo "$(member_name "$i") running pid $(cat "$pf") $(client_url "$i") $h"
      [ "$h" = healthy ] || rc=1
    else
      echo "$(member_name "$i") stopped $(client_url "$i")"
      rc=1
    fi
  done
  exit "$rc"
  ;;
endpoints) endpoints ;;
*) usage ;;
esac
