#!/usr/bin/env bash
# Runs Prometheus for a Switchyard fleet: the Debian package's binary, run directly (not as the
# packaged service) with a config rendered from prometheus.yml.tmpl, the rules in rules/, and
# file-based service discovery (target files written by `autoscaler --file-sd-out DIR`).
#
#   prometheus.sh install            install the Debian package `prometheus` when missing (its own
#                                    service, which would take 127.0.0.1:9090 = the proxies' admin
#                                    default, is disabled when this script installed it)
#   prometheus.sh config   [opts]    render the config; print its path
#   prometheus.sh check    [opts]    promtool check config + check rules + test rules
#   prometheus.sh start    [opts]    render, start (a no-op when running), wait until ready
#   prometheus.sh reload   [opts]    render again and POST /-/reload (--web.enable-lifecycle)
#   prometheus.sh stop               stop what this script started
#   prometheus.sh status             one line; exit 1 when not running or not ready
#   prometheus.sh url                the base URL (http://HOST:PORT)
#   prometheus.sh targets-dir        where the target files go (give it to --file-sd-out)
#
# Options (each also from the environment):
#   --listen HOST:PORT        PROMETHEUS_LISTEN, default 127.0.0.1:9095
#   --scrape-interval DUR     PROMETHEUS_SCRAPE_INTERVAL, default 15s (tests: 1s); also the rule
#                             evaluation interval; the scrape timeout is min(10s, interval)
#   --targets-dir DIR         PROMETHEUS_TARGETS_DIR, default <state>/targets
#   --retention DUR           PROMETHEUS_RETENTION, default 2d
# A running instance's options are kept (settings) and reused when not given again.
# State: ${SWITCHYARD_STATE_DIR:-<repo>/.state}/prometheus/{prometheus.yml,data/,targets/,
#        prometheus.pid,prometheus.log,settings}
set -euo pipefail
export SWY_LOG_TAG=prometheus
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

HERE="$SWY_REPO_ROOT/deploy/prometheus"
STATE="$SWY_STATE_DIR/prometheus"
PIDFILE="$STATE/prometheus.pid"
LOG="$STATE/prometheus.log"
CONF="$STATE/prometheus.yml"

CMD="${1:-}"
[ -n "$CMD" ] || usage
shift
LISTEN="${PROMETHEUS_LISTEN:-}"
SCRAPE="${PROMETHEUS_SCRAPE_INTERVAL:-}"
TARGETS="${PROMETHEUS_TARGETS_DIR:-}"
RETENTION="${PROMETHEUS_RETENTION:-}"
while [ $# -gt 0 ]; do
  case "$1" in
  --listen) LISTEN="${2:-}"; shift ;;
  --listen=*) LISTEN="${1#--listen=}" ;;
  --scrape-interval) SCRAPE="${2:-}"; shift ;;
  --scrape-interval=*) SCRAPE="${1#--scrape-interval=}" ;;
  --targets-dir) TARGETS="${2:-}"; shift ;;
  --targets-dir=*) TARGETS="${1#--targets-dir=}" ;;
  --retention) RETENTION="${2:-}"; shift ;;
  --retention=*) RETENTION="${1#--retention=}" ;;
  -h | --help) usage ;;
  *) swy_die "unknown argument: $1" ;;
  esac
  shift
done
# What a running instance was started with fills in what is not given (so status, stop, reload
# and a repeated start need no options), then the defaults.
SETTINGS="$STATE/settings"
if [ -s "$SETTINGS" ]; then
  while IFS='=' read -r key value; do
    case "$key" in
    listen) LISTEN="${LISTEN:-$value}" ;;
    scrape_interval) SCRAPE="${SCRAPE:-$value}" ;;
    targets_dir) TARGETS="${TARGETS:-$value}" ;;
    retention) RETENTION="${RETENTION:-$value}" ;;
    esac
  done <"$SETTINGS"
fi
LISTEN="${LISTEN:-127.0.0.1:9095}"
SCRAPE="${SCRAPE:-15s}"
TARGETS="${TARGETS:-$STATE/targets}"
RETENTION="${RETENTION:-2d}"
[[ "$LISTEN" =~ ^[^:]+:[0-9]+$ ]] || swy_die "--listen must be HOST:PORT (got $LISTEN)"
[[ "$SCRAPE" =~ ^([0-9]+)s$ ]] || swy_die "--scrape-interval must be whole seconds, e.g. 15s (got $SCRAPE)"
SCRAPE_S="${BASH_REMATCH[1]}"
((SCRAPE_S >= 1)) || swy_die "--scrape-interval must be at least 1s"
TIMEOUT="$((SCRAPE_S < 10 ? SCRAPE_S : 10))s"
URL="http://$LISTEN"

install() {
  local fresh=0
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || fresh=1
  swy_ensure_cmd prometheus prometheus
  swy_ensure_cmd promtool prometheus
  # Where systemd runs, the package starts its own service on :9090 (the proxies' admin default);
  # we run our own instance. Disable the packaged one if we just installed it; else only warn.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active prometheus >/dev/null 2>&1; then
    if [ "$fresh" = 1 ]; then
      swy_log "disabling the packaged prometheus service (it takes :9090, the proxies' admin default)"
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    else
      swy_log "note: the packaged prometheus service runs (on :9090 unless reconfigured)"
    fi
  fi
}

render() {
  mkdir -p "$STATE" "$TARGETS"
  # Prometheus tolerates missing target files, but says so every refresh: start with empty ones.
  for role in proxy admin orchestrator dns autoscaler; do
    [ -e "$TARGETS/$role.json" ] || printf '[]\n' >"$TARGETS/$role.json"
  done
  sed -e "s|@SCRAPE_INTERVAL@|$SCRAPE|g" \
    -e "s|@SCRAPE_TIMEOUT@|$TIMEOUT|g" \
    -e "s|@EVAL_INTERVAL@|$SCRAPE|g" \
    -e "s|@RULES_DIR@|$HERE/rules|g" \
    -e "s|@TARGETS_DIR@|$TARGETS|g" \
    -e "s|@LISTEN@|$LISTEN|g" \
    "$HERE/prometheus.yml.tmpl" >"$CONF.tmp"
  mv -f "$CONF.tmp" "$CONF"
}

ready() { curl -fsS --max-time 2 "$URL/-/ready" >/dev/null; }

check() {
  render
  promtool check config "$CONF"
  promtool check rules "$HERE"/rules/*.yml
  (cd "$HERE/tests" && promtool test rules ./*.yml)
}

start() {
  install
  render
  if swy_pid_matches "$PIDFILE" prometheus; then
    swy_log "already running (pid $(cat "$PIDFILE")) at $URL"
    return 0
  fi
  if swy_port_in_use "${LISTEN##*:}"; then
    swy_die "port ${LISTEN##*:} is already in use by a process this script did not start"
  fi
  promtool check config "$CONF" >/dev/null || swy_die "the rendered config $CONF is invalid"
  mkdir -p "$STATE/data"
  printf 'listen=%s\nscrape_interval=%s\ntargets_dir=%s\nretention=%s\n' \
    "$LISTEN" "$SCRAPE" "$TARGETS" "$RETENTION" >"$SETTINGS"
  swy_log "starting on $URL (scrape every $SCRAPE, targets in $TARGETS)"
  echo "--- $(date -Is) start" >>"$LOG"
  nohup prometheus \
    --config.file="$CONF" \
    --storage.tsdb.path="$STATE/data" \
    --storage.tsdb.retention.time="$RETENTION" \
    --web.listen-address="$LISTEN" \
    --web.enable-lifecycle \
    --log.level=info \
    </dev/null >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  if ! swy_wait_running 60 "prometheus to be ready" "$PIDFILE" ready; then
    swy_tail_log "$LOG"
    exit 1
  fi
  swy_log "ready at $URL"
}

case "$CMD" in
install) install ;;
config)
  render
  echo "$CONF"
  ;;
check) check ;;
start) start ;;
reload)
  render
  swy_pid_matches "$PIDFILE" prometheus || swy_die "not running"
  curl -fsS --max-time 10 -X POST "$URL/-/reload" >/dev/null
  swy_log "reloaded"
  ;;
stop)
  if swy_pid_matches "$PIDFILE" prometheus; then swy_log "stopping (pid $(cat "$PIDFILE"))"; fi
  swy_stop_pidfile "$PIDFILE" prometheus 30
  rm -f "$SETTINGS"
  ;;
status)
  if swy_pid_matches "$PIDFILE" prometheus; then
    if ready >/dev/null 2>&1; then h=ready; else h=not-ready; fi
    echo "prometheus running pid $(cat "$PIDFILE") $URL $h"
    [ "$h" = ready ]
  else
    echo "prometheus stopped $URL"
    exit 1
  fi
  ;;
url) echo "$URL" ;;
targets-dir) echo "$TARGETS" ;;
*) usage ;;
esac
