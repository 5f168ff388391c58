# shellcheck shell=bash
# Shared helpers for Switchyard's deploy scripts. Source it, do not run it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#
# Conventions (see deploy/lib/README.md):
#   * state (data dirs, pid files, logs) lives under ${SWITCHYARD_STATE_DIR:-<repo>/.state}/<service>/
#   * build caches live under ${SWITCHYARD_CACHE_DIR:-<repo>/.cache}/<tool>/
#   * scripts only ever stop processes whose pid they wrote to a pid file themselves.

# The repository root: two levels above this file (deploy/lib/common.sh).
SWY_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SWY_STATE_DIR="${SWITCHYARD_STATE_DIR:-$SWY_REPO_ROOT/.state}"
SWY_CACHE_DIR="${SWITCHYARD_CACHE_DIR:-$SWY_REPO_ROOT/.cache}"
export SWY_REPO_ROOT SWY_STATE_DIR SWY_CACHE_DIR

# swy_log MSG...: a timestamped line on stderr, prefixed by the script's name.
swy_log() {
  printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${SWY_LOG_TAG:-$(basename "$0")}" "$*" >&2
}

# swy_die MSG...: log and exit 1.
swy_die() {
  swy_log "error: $*"
  exit 1
}

# swy_need_root: the lab, keepalived and apt-get need root.
swy_need_root() {
  [ "$(id -u)" = 0 ] || swy_die "must run as root"
}

# swy_apt_update_once: refreshes the package lists once before the first install. A new
# machine's lists can be months old, and installing from them gives an old package (and an old
# browser is not what the tests were written against). Done at most once per provisioning run
# (SWY_APT_UPDATED is exported to the scripts it calls) and once per 12 hours on a machine (a
# stamp outside the checkout), so re-running provisioning stays fast and idempotent.
SWY_APT_STAMP="${SWITCHYARD_APT_STAMP:-/var/cache/switchyard/apt-lists-updated}"
swy_apt_update_once() {
  [ "${SWY_APT_UPDATED:-}" = 1 ] && return 0
  if [ -n "$(find "$SWY_APT_STAMP" -mmin -720 2>/dev/null)" ]; then
    export SWY_APT_UPDATED=1
    return 0
  fi
  swy_need_root
  swy_log "apt-get update (once, before installing)"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || swy_die "apt-get update failed"
  mkdir -p "$(dirname "$SWY_APT_STAMP")" && touch "$SWY_APT_STAMP"
  export SWY_APT_UPDATED=1
}

# swy_apt_install PACKAGE...: apt-get install, after refreshing the lists once.
swy_apt_install() {
  swy_apt_update_once
  swy_log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 || swy_die "could not install $*"
}

# swy_ensure_cmd BINARY DEBIAN_PACKAGE: install the package only when the binary is absent.
swy_ensure_cmd() {
  local bin="$1" pkg="$2"
  if command -v "$bin" >/dev/null 2>&1; then return 0; fi
  [ -x "/usr/sbin/$bin" ] && return 0
  swy_log "$bin not found"
  swy_need_root
  swy_apt_install "$pkg"
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || swy_die "$pkg installed but $bin still missing"
}

# swy_state_dir SERVICE: prints (and creates) the state dir of a service.
swy_state_dir() {
  local d="$SWY_STATE_DIR/$1"
  mkdir -p "$d"
  printf '%s\n' "$d"
}

# swy_pid_alive PIDFILE: true when the pid file names a running process.
swy_pid_alive() {
  local pidfile="$1" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie is not alive for our purposes.
  [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" != "Z" ]
}

# swy_pid_matches PIDFILE PATTERN: the process in the pid file still runs a command matching
# PATTERN (guards against killing a recycled pid).
swy_pid_matches() {
  local pidfile="$1" pattern="$2" pid
  swy_pid_alive "$pidfile" || return 1
  pid="$(cat "$pidfile")"
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# swy_stop_pidfile PIDFILE PATTERN [TIMEOUT_S] [SIGNAL]: send SIGNAL (default TERM) to the process
# named in PIDFILE (only if its command line matches PATTERN), wait, then KILL; removes the pid file.
swy_stop_pidfile() {
  local pidfile="$1" pattern="$2" timeout="${3:-10}" signal="${4:-TERM}" pid i
  if ! swy_pid_matches "$pidfile" "$pattern"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -"$signal" "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    swy_pid_alive "$pidfile" || break
    sleep 0.1
  done
  if swy_pid_alive "$pidfile"; then
    swy_log "pid $pid did not stop after ${timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
}

# swy_wait_until TIMEOUT_S DESCRIPTION CMD...: polls CMD every 0.2 s until it succeeds.
swy_wait_until() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  swy_log "timed out after ${timeout}s waiting for $what"
  return 1
}

# swy_wait_running TIMEOUT_S DESCRIPTION PIDFILE CMD...: like swy_wait_until, but gives up at
# once when the process in PIDFILE has exited (a failed start fails fast).
swy_wait_running() {
  local timeout="$1" what="$2" pidfile="$3" deadline
  shift 3
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! swy_pid_alive "$pidfile"; then
      swy_log "the process exited while waiting for $what"
      return 1
    fi
    sleep 0.2
  done
  swy_log "timed out after ${timeout}s waiting for $what"
  return 1
}

# swy_port_in_use PORT [PROTO]: true when something listens on 127.0.0.1/0.0.0.0 PORT (tcp by
# default, "udp" for udp), in the current network namespace.
swy_port_in_use() {
  local port="$1" proto="${2:-tcp}" flag="-ltnH"
  [ "$proto" = udp ] && flag="-lunH"
  ss "$flag" "sport = :$port" 2>/dev/null | grep -q .
}

# swy_tail_log FILE [N]: the last N lines of a log on stderr, to explain a failed start.
swy_tail_log() {
  local f="$1" n="${2:-30}"
  [ -f "$f" ] || return 0
  swy_log "last $n lines of $f:"
  tail -n "$n" "$f" >&2 || true
}
