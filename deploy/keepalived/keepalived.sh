#!/usr/bin/env bash
# keepalived (VRRP only) for Switchyard's DNS nodes. See deploy/keepalived/README.md.
#
#   keepalived.sh config --node NAME --role master|backup [options]   render keepalived.conf,
#                                                                     print its path
#       --priority N       default: master 150, backup 100
#       --interface IF     default eth0
#       --vrid N           default $LAB_VRID (53)
#       --vip CIDR         default $LAB_VIP/$LAB_DNS_PREFIX
#       --auth-pass PASS   default swydns (VRRPv2 PASS auth: at most 8 characters)
#       --advert-int S     VRRP advert interval, default 1 (VRRPv2). A fraction (0.05-0.99,
#                          e.g. 0.5) renders VRRPv3, which has sub-second adverts and no auth:
#                          a node lost without a last advert is replaced after 3 x S + skew
#       --health-url URL   default http://127.0.0.1:18053/health (the node's CoreDNS health)
#       --out FILE         default <state>/keepalived/NAME/keepalived.conf
#   keepalived.sh start  --node NAME [--netns NS] [--config FILE]   run it (in NS) in the background
#   keepalived.sh stop   --node NAME [--signal SIG]                 stop it (TERM: releases the VIP)
#   keepalived.sh status --node NAME                                running? VRRP state?
#
# State: ${SWITCHYARD_STATE_DIR:-<repo>/.state}/keepalived/NAME/
#   keepalived.conf, keepalived.pid, vrrp.pid, checkers.pid, keepalived.log, vrrp.state(.log)
set -euo pipefail
SWY_LOG_TAG=keepalived
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "${SWITCHYARD_LAB_ENV:-$SWY_REPO_ROOT/deploy/lab/lab.env}"

usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

HERE="$SWY_REPO_ROOT/deploy/keepalived"
MASTER_PRIORITY=150
BACKUP_PRIORITY=100

CMD="${1:-}"
[ -n "$CMD" ] || usage
shift
NODE="" ROLE="" PRIORITY="" IFACE=eth0 VRID="$LAB_VRID" VIP="$LAB_VIP/$LAB_DNS_PREFIX"
AUTH_PASS=swydns ADVERT_INT=1 HEALTH_URL=http://127.0.0.1:18053/health OUT="" NETNS="" CONFIG="" SIGNAL=TERM
while [ $# -gt 0 ]; do
  case "$1" in
  --node) NODE="${2:-}" ;;
  --role) ROLE="${2:-}" ;;
  --priority) PRIORITY="${2:-}" ;;
  --interface) IFACE="${2:-}" ;;
  --vrid) VRID="${2:-}" ;;
  --vip) VIP="${2:-}" ;;
  --auth-pass) AUTH_PASS="${2:-}" ;;
  --advert-int) ADVERT_INT="${2:-}" ;;
  --health-url) HEALTH_URL="${2:-}" ;;
  --out) OUT="${2:-}" ;;
  --netns) NETNS="${2:-}" ;;
  --config) CONFIG="${2:-}" ;;
  --signal) SIGNAL="${2:-}" ;;
  -h | --help) usage ;;
  *) swy_die "unknown argument: $1" ;;
  esac
  shift 2
done
[[ "$NODE" =~ ^[A-Za-z0-9._-]+$ ]] || swy_die "--node NAME is required (letters, digits, . _ -)"

DIR="$SWY_STATE_DIR/keepalived/$NODE"
PIDFILE="$DIR/keepalived.pid"
LOG="$DIR/keepalived.log"
STATE_FILE="$DIR/vrrp.state"

render() {
  case "$ROLE" in
  master) : "${PRIORITY:=$MASTER_PRIORITY}" ;;
  backup) : "${PRIORITY:=$BACKUP_PRIORITY}" ;;
  *) swy_die "--role must be master or backup" ;;
  esac
  [[ "$PRIORITY" =~ ^[0-9]+$ ]] && ((PRIORITY >= 1 && PRIORITY <= 254)) ||
    swy_die "--priority must be 1-254"
  [[ "$VRID" =~ ^[0-9]+$ ]] && ((VRID >= 1 && VRID <= 255)) || swy_die "--vrid must be 1-255"
  [[ "$VIP" =~ ^[0-9.]+/[0-9]+$ ]] || swy_die "--vip must be an IPv4 CIDR like 198.18.0.53/24"
  [[ "$IFACE" =~ ^[A-Za-z0-9._-]{1,15}$ ]] || swy_die "bad --interface"
  [[ "$AUTH_PASS" =~ ^[A-Za-z0-9._-]{1,8}$ ]] || swy_die "--auth-pass: 1-8 of [A-Za-z0-9._-]"
  # VRRPv2: whole seconds (1-255); VRRPv3 (RFC 5798): centiseconds, here 0.05-0.99 s
  local version=2
  if [[ "$ADVERT_INT" =~ ^0\.(0[5-9]|[1-9][0-9]?)$ ]]; then
    version=3
  elif ! [[ "$ADVERT_INT" =~ ^[1-9][0-9]{0,2}$ ]] || ((ADVERT_INT > 255)); then
    swy_die "--advert-int must be 1-255 (seconds, VRRPv2) or 0.05-0.99 (VRRPv3)"
  fi
  [[ "$HEALTH_URL" =~ ^https?://[^[:space:]\"]+$ ]] || swy_die "bad --health-url"
  : "${OUT:=$DIR/keepalived.conf}"
  mkdir -p "$DIR" "$(dirname "$OUT")"
  sed -e "s|@NODE@|$NODE|g" -e "s|@ROLE@|$ROLE|g" -e "s|@PRIORITY@|$PRIORITY|g" \
    -e "s|@MASTER_PRIORITY@|$MASTER_PRIORITY|g" -e "s|@BACKUP_PRIORITY@|$BACKUP_PRIORITY|g" \
    -e "s|@INTERFACE@|$IFACE|g" -e "s|@VRID@|$VRID|g" -e "s|@VIP@|$VIP|g" \
    -e "s|@AUTH_PASS@|$AUTH_PASS|g" -e "s|@INSTANCE@|VI_DNS|g" \
    -e "s|@ADVERT_INT@|$ADVERT_INT|g" -e "s|@VRRP_VERSION@|$version|g" \
    -e "s|@CHECK_SCRIPT@|$HERE/check_coredns.sh|g" -e "s|@HEALTH_URL@|$HEALTH_URL|g" \
    -e "s|@NOTIFY_SCRIPT@|$HERE/notify_state.sh|g" -e "s|@STATE_FILE@|$STATE_FILE|g" \
    "$HERE/keepalived.conf.tmpl" >"$OUT.tmp"
  # VRRPv3 has no authentication (keepalived refuses the block): drop it
  if [ "$version" = 3 ]; then sed -i '/^ *authentication {/,/^ *}/d' "$OUT.tmp"; fi
  if grep -q '@[A-Z_]*@' "$OUT.tmp"; then swy_die "unrendered placeholder in $OUT.tmp"; fi
  mv -f "$OUT.tmp" "$OUT"
  printf '%s\n' "$OUT"
}

in_ns() {
  if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

case "$CMD" in
config) render ;;
start)
  swy_need_root
  swy_ensure_cmd keepalived keepalived
  swy_ensure_cmd curl curl
  : "${CONFIG:=$DIR/keepalived.conf}"
  [ -f "$CONFIG" ] || swy_die "no config $CONFIG (run: $0 config --node $NODE --role ...)"
  if [ -n "$NETNS" ] && ! ip netns list | grep -qw "$NETNS"; then
    swy_die "namespace $NETNS does not exist (deploy/lab/lab.sh up)"
  fi
  mkdir -p "$DIR"
  if swy_pid_matches "$PIDFILE" keepalived; then
    swy_log "$NODE already running (pid $(cat "$PIDFILE"))"
    exit 0
  fi
  in_ns keepalived -t -f "$CONFIG" >>"$LOG" 2>&1 || {
    swy_tail_log "$LOG"
    swy_die "config test failed: $CONFIG"
  }
  printf '%s\n' "$NETNS" >"$DIR/netns"
  rm -f "$STATE_FILE"
  echo "--- $(date -Is) start $CONFIG${NETNS:+ in netns $NETNS}" >>"$LOG"
  swy_log "starting $NODE${NETNS:+ in netns $NETNS}"
  # -n: stay in the foreground (we keep its pid); -P: VRRP only; -l -D: detailed log to the
  # console, redirected to the log file; -G: no syslog; own pid files so several run at once.
  # shellcheck disable=SC2046
  nohup $([ -n "$NETNS" ] && echo ip netns exec "$NETNS") keepalived -n -P -l -D -G \
    -f "$CONFIG" -p "$PIDFILE" -r "$DIR/vrrp.pid" -c "$DIR/checkers.pid" \
    </dev/null >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE.launch"
  # keepalived writes its own pid file; wait for the VRRP child and the first state.
  if ! swy_wait_until 15 "keepalived $NODE to report a VRRP state" test -s "$STATE_FILE"; then
    swy_tail_log "$LOG"
    kill -TERM "$(cat "$PIDFILE.launch")" 2>/dev/null || true
    rm -f "$PIDFILE.launch"
    exit 1
  fi
  # Prefer keepalived's own pid file; it is the same process as the one launched.
  [ -s "$PIDFILE" ] || mv -f "$PIDFILE.launch" "$PIDFILE"
  rm -f "$PIDFILE.launch"
  swy_log "$NODE running (pid $(cat "$PIDFILE")), state $(cut -d' ' -f1 "$STATE_FILE")"
  ;;
stop)
  if swy_pid_matches "$PIDFILE" keepalived; then swy_log "stopping $NODE (SIG$SIGNAL)"; fi
  swy_stop_pidfile "$PIDFILE" keepalived 10 "$SIGNAL"
  rm -f "$DIR/vrrp.pid" "$DIR/checkers.pid"
  ;;
status)
  if swy_pid_matches "$PIDFILE" keepalived; then
    echo "$NODE running pid $(cat "$PIDFILE") state $(cut -d' ' -f1 "$STATE_FILE" 2>/dev/null || echo unknown)"
  else
    echo "$NODE stopped"
    exit 1
  fi
  ;;
*) usage ;;
esac
