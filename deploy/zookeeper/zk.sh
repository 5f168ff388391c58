#!/usr/bin/env bash
# Switchyard ZooKeeper provisioning for development, tests and CI.
#
# Runs ZooKeeper (Debian package `zookeeper`, 3.8.x) directly with
# `java ... QuorumPeerMain <cfg>`: no systemd, no init scripts, one process per node, every node's
# state (data, myid, conf, logs, pid) under ${SWITCHYARD_STATE_DIR:-<repo>/.state}/zookeeper/<name>/.
# Stop/kill only ever signal a pid this script recorded, after checking that the pid still runs
# QuorumPeerMain with our config file (so a recycled pid is never hit).
#
# See deploy/zookeeper/README.md for the port plan and examples. `zk.sh help` lists the commands.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
STATE_ROOT="${SWITCHYARD_STATE_DIR:-${REPO_ROOT}/.state}/zookeeper"

JAVA_JARS_DIR="${ZK_JARS_DIR:-/usr/share/java}"
ZK_CLI="${ZK_CLI:-/usr/share/zookeeper/bin/zkCli.sh}"
START_TIMEOUT="${ZK_START_TIMEOUT:-60}" # seconds to wait for a node / a leader
STOP_TIMEOUT="${ZK_STOP_TIMEOUT:-15}"   # seconds to wait after SIGTERM before SIGKILL
ZK_JVMFLAGS="${ZK_JVMFLAGS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"

# Port plan (fixed, see README): single dev node and a three-member ensemble.
SINGLE_CLIENT_PORT=2181
ENSEMBLE_CLIENT_PORTS=(2281 2282 2283)
ENSEMBLE_QUORUM_PORTS=(2891 2892 2893)
ENSEMBLE_ELECTION_PORTS=(3891 3892 3893)
FOUR_LETTER_WORDS="ruok,srvr,mntr,stat,cons"
HOST=127.0.0.1
# where clients connect (quorum and election stay on HOST): 0.0.0.0 lets clients in other network
# namespaces reach the members through the namespace's addresses (the game day's proxies)
CLIENT_ADDRESS="${ZK_CLIENT_ADDRESS:-$HOST}"

log() { printf 'zk: %s\n' "$*" >&2; }
die() {
  printf 'zk: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<'EOF'
usage: zk.sh <command> [args]

  install                          install the Debian package `zookeeper` if it is missing
  start|stop|wipe|status single    dev node, client 127.0.0.1:2181
  start|stop|wipe|status ensemble  three members, clients 127.0.0.1:2281-2283
  start-member N                   start ensemble member N (1-3)
  stop-member N                    stop member N gracefully (SIGTERM)
  kill-member N                    crash member N (SIGKILL)
  pid single|N                     print the pid of the dev node or of member N
  connect-string single|ensemble   print the client connection string
  4lw single|N WORD                send a four-letter word (ruok srvr mntr stat cons)
  cli single|ensemble|HOST:PORT [zkCli args...]
                                   run zkCli.sh against a target (interactive without args)
  digest USER:PASSWORD             print the digest ACL id (user:base64(sha1)) for setAcl
  help                             this text

Environment: SWITCHYARD_STATE_DIR (default <repo>/.state), ZK_START_TIMEOUT (60),
ZK_STOP_TIMEOUT (15), ZK_JVMFLAGS.
EOF
}

# ---------------------------------------------------------------------------------------------
# install

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

zk_installed() {
  [ -f "${JAVA_JARS_DIR}/zookeeper.jar" ] && command -v java >/dev/null 2>&1
}

cmd_install() {
  if dpkg-query -W -f='${Status}' zookeeper 2>/dev/null | grep -q 'install ok installed' &&
    zk_installed; then
    log "zookeeper $(dpkg-query -W -f='${Version}' zookeeper) already installed"
  else
    log "installing the Debian package zookeeper"
    # fresh lists first (a new machine's can be stale), unless provisioning just refreshed them
    if [ "${SWY_APT_UPDATED:-}" != 1 ]; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q zookeeper
  fi
  zk_installed || die "zookeeper.jar or java missing after install"
  [ -x "${ZK_CLI}" ] || log "warning: ${ZK_CLI} not found (zk.sh cli will not work)"
}

# ---------------------------------------------------------------------------------------------
# node layout

# node_dir NAME -> state directory of one node (single | ensemble-1..3)
node_dir() { printf '%s/%s' "${STATE_ROOT}" "$1"; }
pid_file() { printf '%s/zookeeper.pid' "$(node_dir "$1")"; }
cfg_file() { printf '%s/conf/zoo.cfg' "$(node_dir "$1")"; }

member_name() {
  case "${1:-}" in
  1 | 2 | 3) printf 'ensemble-%s' "$1" ;;
  *) die "ensemble member must be 1, 2 or 3 (got '${1:-}')" ;;
  esac
}

client_port() {
  case "$1" in
  single) printf '%s' "${SINGLE_CLIENT_PORT}" ;;
  ensemble-[123]) printf '%s' "${ENSEMBLE_CLIENT_PORTS[$((${1#ensemble-} - 1))]}" ;;
  *) die "unknown node '$1'" ;;
  esac
}

ensemble_connect_string() {
  local out="" p
  for p in "${ENSEMBLE_CLIENT_PORTS[@]}"; do out="${out:+${out},}${HOST}:${p}"; done
  printf '%s' "${out}"
}

write_config() {
  local name="$1" dir cfg
  dir="$(node_dir "${name}")"
  cfg="$(cfg_file "${name}")"
  mkdir -p "${dir}/data" "${dir}/datalog" "${dir}/conf" "${dir}/logs"
  {
    echo "# generated by deploy/zookeeper/zk.sh; rewritten on every start"
    echo "tickTime=1000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "minSessionTimeout=1000"
    echo "maxSessionTimeout=60000"
    echo "dataDir=${dir}/data"
    echo "dataLogDir=${dir}/datalog"
    echo "clientPortAddress=${CLIENT_ADDRESS}"
    echo "clientPort=$(client_port "${name}")"
    echo "maxClientCnxns=200"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=${FOUR_LETTER_WORDS}"
    echo "autopurge.snapRetainCount=3"
    echo "autopurge.purgeInterval=1"
    if [ "${name}" = single ]; then
      echo "standaloneEnabled=true"
    else
      echo "standaloneEnabled=false"
      echo "reconfigEnabled=false"
      local i
      for i in 1 2 3; do
        echo "server.${i}=${HOST}:${ENSEMBLE_QUORUM_PORTS[$((i - 1))]}:${ENSEMBLE_ELECTION_PORTS[$((i - 1))]}"
      done
    fi
  } >"${cfg}"
  if [ "${name}" = single ]; then
    rm -f "${dir}/data/myid"
  else
    printf '%s\n' "${name#ensemble-}" >"${dir}/data/myid"
  fi
}

classpath() {
  local cp="${JAVA_JARS_DIR}/zookeeper.jar"
  # The Debian jar's manifest pulls in its dependencies; add a logging binding so the node logs.
  [ -f "${JAVA_JARS_DIR}/slf4j-simple.jar" ] && cp="${cp}:${JAVA_JARS_DIR}/slf4j-simple.jar"
  printf '%s' "${cp}"
}

# ---------------------------------------------------------------------------------------------
# process handling: only pids from our pid files, and only if they still run our config

# owned_pid NAME -> prints the pid and returns 0 if the node is running and was started by us
owned_pid() {
  local name="$1" pf pid
  pf="$(pid_file "${name}")"
  [ -f "${pf}" ] || return 1
  pid="$(cat "${pf}" 2>/dev/null || true)"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/${pid}/cmdline" ] || return 1
  if tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q "QuorumPeerMain $(cfg_file "${name}")"; then
    # A zombie (killed, not yet reaped by its parent) is not running.
    if grep -q '^State:[[:space:]]*Z' "/proc/${pid}/status" 2>/dev/null; then return 1; fi
    printf '%s' "${pid}"
    return 0
  fi
  return 1
}

# four_letter PORT WORD -> the server's answer (empty if nothing answers)
four_letter() {
  local port="$1" word="$2"
  (
    exec 3<>"/dev/tcp/${HOST}/${port}" || exit 0
    printf '%s' "${word}" >&3
    timeout 3 cat <&3 || true
  ) 2>/dev/null || true
}

node_mode() {
  four_letter "$(client_port "$1")" srvr | sed -n 's/^Mode: //p'
}

port_in_use() {
  (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

launch() {
  local name="$1" dir cfg port pid
  if pid="$(owned_pid "${name}")"; then
    log "${name}: already running (pid ${pid})"
    return 0
  fi
  port="$(client_port "${name}")"
  if port_in_use "${port}"; then
    die "${name}: port ${port} is in use by a process this script did not start; not touching it"
  fi
  zk_installed || die "zookeeper is not installed; run: $0 install"
  dir="$(node_dir "${name}")"
  write_config "${name}"
  cfg="$(cfg_file "${name}")"
  rm -f "$(pid_file "${name}")"
  # setsid: the node must outlive the shell (and test process group) that started it. The inner
  # shell writes its own pid, then execs java in place, so the pid file names the JVM.
  # shellcheck disable=SC2086,SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$(pid_file "${name}")" \
    java ${ZK_JVMFLAGS} \
    -Dzookeeper.log.dir="${dir}/logs" \
    -Dzookeeper.admin.enableServer=false \
    -Dzookeeper.4lw.commands.whitelist="${FOUR_LETTER_WORDS}" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
    -cp "$(classpath)" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "${cfg}" \
    >>"${dir}/logs/zookeeper.out" 2>&1 </dev/null &
  disown || true
  local i
  for i in $(seq 1 50); do
    [ -s "$(pid_file "${name}")" ] && break
    sleep 0.1
  done
  log "${name}: started pid $(cat "$(pid_file "${name}")" 2>/dev/null || echo '?'), client port ${port}"
}

# wait_for NAME WHAT: WHAT=ruok (process answers) or serving (standalone/leader/follower)
wait_for() {
  local name="$1" what="$2" port deadline mode
  port="$(client_port "${name}")"
  deadline=$((SECONDS + START_TIMEOUT))
  while [ "${SECONDS}" -lt "${deadline}" ]; do
    if ! owned_pid "${name}" >/dev/null; then
      log "${name}: process exited; last log lines:"
      tail -n 20 "$(node_dir "${name}")/logs/zookeeper.out" >&2 || true
      return 1
    fi
    if [ "$(four_letter "${port}" ruok)" = imok ]; then
      if [ "${what}" = ruok ]; then return 0; fi
      mode="$(node_mode "${name}")"
      case "${mode}" in standalone | leader | follower) return 0 ;; esac
    fi
    sleep 0.2
  done
  log "${name}: not ${what} after ${START_TIMEOUT}s; last log lines:"
  tail -n 20 "$(node_dir "${name}")/logs/zookeeper.out" >&2 || true
  return 1
}

# halt NAME SIGNAL: TERM waits (then KILLs after STOP_TIMEOUT), KILL is a crash
halt() {
  local name="$1" sig="$2" pid i
  if ! pid="$(owned_pid "${name}")"; then
    log "${name}: not running"
    rm -f "$(pid_file "${name}")"
    return 0
  fi
  kill "-${sig}" "${pid}" 2>/dev/null || true
  for i in $(seq 1 $((STOP_TIMEOUT * 10))); do
    owned_pid "${name}" >/dev/null || break
    sleep 0.1
  done
  if owned_pid "${name}" >/dev/null; then
    log "${name}: still running after SIG${sig}; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    sleep 0.3
  fi
  # The client port must be free before we report success (tests restart right away).
  for i in $(seq 1 50); do
    port_in_use "$(client_port "${name}")" || break
    sleep 0.1
  done
  rm -f "$(pid_file "${name}")"
  log "${name}: stopped (SIG${sig}, pid ${pid})"
}

running_members() {
  local n count=0
  for n in 1 2 3; do owned_pid "ensemble-${n}" >/dev/null && count=$((count + 1)); done
  printf '%s' "${count}"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_start() {
  case "${1:-}" in
  single)
    launch single
    wait_for single serving || die "single: did not come up"
    log "single: serving at ${HOST}:${SINGLE_CLIENT_PORT}"
    ;;
  ensemble)
    local n
    for n in 1 2 3; do launch "ensemble-${n}"; done
    for n in 1 2 3; do wait_for "ensemble-${n}" serving || die "ensemble-${n}: did not come up"; done
    log "ensemble: serving at $(ensemble_connect_string) (leader: $(ensemble_leader))"
    ;;
  *) die "start what? single | ensemble" ;;
  esac
}

ensemble_leader() {
  local n
  for n in 1 2 3; do
    if [ "$(node_mode "ensemble-${n}")" = leader ]; then
      printf '%s' "${n}"
      return 0
    fi
  done
  printf 'none'
}

cmd_stop() {
  case "${1:-}" in
  single) halt single TERM ;;
  ensemble)
    local n
    for n in 1 2 3; do halt "ensemble-${n}" TERM; done
    ;;
  *) die "stop what? single | ensemble" ;;
  esac
}

cmd_wipe() {
  case "${1:-}" in
  single)
    halt single TERM
    rm -rf "$(node_dir single)"
    log "single: wiped"
    ;;
  ensemble)
    local n
    for n in 1 2 3; do halt "ensemble-${n}" TERM; done
    for n in 1 2 3; do rm -rf "$(node_dir "ensemble-${n}")"; done
    log "ensemble: wiped"
    ;;
  *) die "wipe what? single | ensemble" ;;
  esac
}

status_line() {
  local name="$1" pid mode port
  port="$(client_port "${name}")"
  if pid="$(owned_pid "${name}")"; then
    mode="$(node_mode "${name}")"
    printf '%-11s running  pid=%-7s port=%s mode=%s\n' "${name}" "${pid}" "${port}" \
      "${mode:-not-serving}"
    case "${mode}" in standalone | leader | follower) return 0 ;; *) return 1 ;; esac
  else
    printf '%-11s stopped  port=%s\n' "${name}" "${port}"
    return 3
  fi
}

cmd_status() {
  case "${1:-}" in
  single) status_line single ;;
  ensemble)
    local n rc=0 r
    for n in 1 2 3; do
      r=0
      status_line "ensemble-${n}" || r=$?
      [ "${r}" -gt "${rc}" ] && rc="${r}"
    done
    return "${rc}"
    ;;
  *) die "status of what? single | ensemble" ;;
  esac
}

cmd_start_member() {
  local name
  name="$(member_name "${1:-}")"
  launch "${name}"
  if [ "$(running_members)" -ge 2 ]; then
    wait_for "${name}" serving || die "${name}: did not join the quorum"
    log "${name}: serving as $(node_mode "${name}")"
  else
    # Alone it cannot form a quorum: only wait for the process to answer.
    wait_for "${name}" ruok || die "${name}: did not come up"
    log "${name}: up, waiting for a quorum (fewer than 2 members running)"
  fi
}

cmd_pid() {
  local name
  case "${1:-}" in
  single) name=single ;;
  *) name="$(member_name "${1:-}")" ;;
  esac
  owned_pid "${name}" || die "${name}: not running"
  echo
}

cmd_connect_string() {
  case "${1:-}" in
  single) printf '%s:%s\n' "${HOST}" "${SINGLE_CLIENT_PORT}" ;;
  ensemble) printf '%s\n' "$(ensemble_connect_string)" ;;
  *) die "connect-string of what? single | ensemble" ;;
  esac
}

cmd_4lw() {
  local target="${1:-}" word="${2:-}" port
  case "${target}" in
  single) port="${SINGLE_CLIENT_PORT}" ;;
  1 | 2 | 3) port="$(client_port "$(member_name "${target}")")" ;;
  *) die "4lw single|N WORD" ;;
  esac
  [ -n "${word}" ] || die "4lw single|N WORD"
  four_letter "${port}" "${word}"
  echo
}

cmd_cli() {
  local target="${1:-single}" server
  [ $# -gt 0 ] && shift
  case "${target}" in
  single) server="${HOST}:${SINGLE_CLIENT_PORT}" ;;
  ensemble) server="$(ensemble_connect_string)" ;;
  *) server="${target}" ;;
  esac
  [ -x "${ZK_CLI}" ] || die "${ZK_CLI} not found; run: $0 install"
  exec "${ZK_CLI}" -server "${server}" "$@"
}

cmd_digest() {
  local creds="${1:-}"
  [[ "${creds}" == *:* ]] || die "digest USER:PASSWORD"
  zk_installed || die "zookeeper is not installed; run: $0 install"
  java -cp "$(classpath)" org.apache.zookeeper.server.auth.DigestAuthenticationProvider \
    "${creds}" 2>/dev/null | sed -n 's/^.*->//p'
}

main() {
  local cmd="${1:-help}"
  [ $# -gt 0 ] && shift
  case "${cmd}" in
  install) cmd_install ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  wipe) cmd_wipe "$@" ;;
  status) cmd_status "$@" ;;
  start-member) cmd_start_member "$@" ;;
  stop-member | kill-member)
    local name
    name="$(member_name "${1:-}")"
    if [ "${cmd}" = stop-member ]; then halt "${name}" TERM; else halt "${name}" KILL; fi
    ;;
  pid) cmd_pid "$@" ;;
  connect-string) cmd_connect_string "$@" ;;
  4lw) cmd_4lw "$@" ;;
  cli) cmd_cli "$@" ;;
  digest) cmd_digest "$@" ;;
  help | -h | --help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
