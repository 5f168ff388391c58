#!/usr/bin/env bash
# The DNS lab: network namespaces on private bridges, every address in 198.18.0.0/15, routed
# nowhere. See deploy/lab/README.md for the picture.
#
#   lab.sh up      create what is missing (idempotent)
#   lab.sh down    stop the lab's services (etcd lab, CoreDNS lab-*, keepalived), delete it all
#   lab.sh status  list namespaces, addresses, routes; exit 1 when the lab is not (fully) up
#
# Names and addresses: deploy/lab/lab.env, or the file $SWITCHYARD_LAB_ENV names (a second lab
# with its own names and addresses, as tests/dns/deploy_scripts_test.ts runs next to the main one).
set -euo pipefail
SWY_LOG_TAG=lab
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
. "${SWITCHYARD_LAB_ENV:-$SWY_REPO_ROOT/deploy/lab/lab.env}"

ALL_NS=("$LAB_NS_ROUTER" "$LAB_NS_ETCD" "$LAB_NS_DNS1" "$LAB_NS_DNS2" "$LAB_NS_CLIENT1" "$LAB_NS_CLIENT2")

ns_exists() { [ -e "/run/netns/$1" ]; }
link_exists() { ip -n "$1" link show "$2" >/dev/null 2>&1; }

ensure_ns() {
  local ns="$1"
  if ! ns_exists "$ns"; then
    ip netns add "$ns"
    swy_log "created namespace $ns"
  fi
  ip -n "$ns" link set lo up
  # Each namespace has its own sysctls: no IPv6 autoconf noise, no router advertisements.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
}

ensure_bridge() {
  local br="$1" addr="$2"
  if ! link_exists "$LAB_NS_ROUTER" "$br"; then
    ip -n "$LAB_NS_ROUTER" link add "$br" type bridge
    # No STP and no forwarding delay: ports forward as soon as they are up.
    ip -n "$LAB_NS_ROUTER" link set "$br" type bridge stp_state 0 forward_delay 0
  fi
  ensure_addr "$LAB_NS_ROUTER" "$br" "$addr"
  ip -n "$LAB_NS_ROUTER" link set "$br" up
}

ensure_addr() {
  local ns="$1" dev="$2" addr="$3"
  if ! ip -n "$ns" -4 addr show dev "$dev" | grep -q "inet ${addr%/*}/"; then
    ip -n "$ns" addr add "$addr" dev "$dev"
  fi
}

# attach NS ADDR/PREFIX BRIDGE PORTNAME [GATEWAY]: a veth from NS (eth0) to a port on BRIDGE.
attach() {
  local ns="$1" addr="$2" br="$3" port="$4" gw="${5:-}"
  if ! link_exists "$ns" eth0; then
    link_exists "$LAB_NS_ROUTER" "$port" && ip -n "$LAB_NS_ROUTER" link del "$port"
    ip link add eth0 netns "$ns" type veth peer name "$port" netns "$LAB_NS_ROUTER"
  fi
  ip -n "$LAB_NS_ROUTER" link set "$port" master "$br"
  ip -n "$LAB_NS_ROUTER" link set "$port" up
  ensure_addr "$ns" eth0 "$addr"
  ip -n "$ns" link set eth0 up
  if [ -n "$gw" ]; then ip -n "$ns" route replace default via "$gw" dev eth0; fi
}

up() {
  swy_need_root
  swy_ensure_cmd ip iproute2
  swy_ensure_cmd ping iputils-ping
  for ns in "${ALL_NS[@]}"; do ensure_ns "$ns"; done
  # The router forwards between the DNS subnet and the client regions, inside its namespace only.
  ip netns exec "$LAB_NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1
  ensure_bridge "$LAB_BR_DNS" "$LAB_ROUTER_DNS_IP/$LAB_DNS_PREFIX"
  ensure_bridge "$LAB_BR_REGION1" "$LAB_ROUTER_REGION1_IP/${LAB_REGION1_CIDR#*/}"
  ensure_bridge "$LAB_BR_REGION2" "$LAB_ROUTER_REGION2_IP/${LAB_REGION2_CIDR#*/}"

  attach "$LAB_NS_ETCD" "$LAB_ETCD_IP/$LAB_DNS_PREFIX" "$LAB_BR_DNS" p-etcd "$LAB_ROUTER_DNS_IP"
  attach "$LAB_NS_DNS1" "$LAB_DNS1_IP/$LAB_DNS_PREFIX" "$LAB_BR_DNS" p-dns1 "$LAB_ROUTER_DNS_IP"
  attach "$LAB_NS_DNS2" "$LAB_DNS2_IP/$LAB_DNS_PREFIX" "$LAB_BR_DNS" p-dns2 "$LAB_ROUTER_DNS_IP"
  attach "$LAB_NS_CLIENT1" "$LAB_CLIENT1_IP/${LAB_REGION1_CIDR#*/}" "$LAB_BR_REGION1" p-c1 \
    "$LAB_ROUTER_REGION1_IP"
  attach "$LAB_NS_CLIENT2" "$LAB_CLIENT2_IP/${LAB_REGION2_CIDR#*/}" "$LAB_BR_REGION2" p-c2 \
    "$LAB_ROUTER_REGION2_IP"

  # The host's one leg into the lab: tests and people on the host reach etcd and the DNS nodes
  # (198.18.0.0/24 only; no forwarding on the host, no default route change).
  if ! ip link show "$LAB_HOST_IF" >/dev/null 2>&1; then
    link_exists "$LAB_NS_ROUTER" p-host && ip -n "$LAB_NS_ROUTER" link del p-host
    ip link add "$LAB_HOST_IF" type veth peer name p-host netns "$LAB_NS_ROUTER"
  fi
  ip -n "$LAB_NS_ROUTER" link set p-host master "$LAB_BR_DNS"
  ip -n "$LAB_NS_ROUTER" link set p-host up
  if ! ip -4 addr show dev "$LAB_HOST_IF" | grep -q "inet $LAB_HOST_IP/"; then
    ip addr add "$LAB_HOST_IP/$LAB_DNS_PREFIX" dev "$LAB_HOST_IF"
  fi
  ip link set "$LAB_HOST_IF" up
  # Replies from services on the host's leg (proxies on 198.18.0.2x) to clients in the regions
  # go back through the router. Only the lab's range; the host's default route is untouched.
  ip route replace "$LAB_RANGE" via "$LAB_ROUTER_DNS_IP" dev "$LAB_HOST_IF"
  swy_wait_until 10 "the lab network" ip netns exec "$LAB_NS_CLIENT1" ping -c1 -W1 "$LAB_DNS1_IP" ||
    swy_die "lab is up but $LAB_NS_CLIENT1 cannot reach $LAB_DNS1_IP"
  swy_log "lab up: router $LAB_NS_ROUTER, etcd $LAB_ETCD_IP, dns $LAB_DNS1_IP $LAB_DNS2_IP" \
    "(VIP $LAB_VIP), clients $LAB_CLIENT1_IP ($LAB_REGION1_NAME) $LAB_CLIENT2_IP ($LAB_REGION2_NAME)"
}

down() {
  swy_need_root
  local d n
  # Services the deploy scripts started inside the lab, by their pid files.
  for d in "$SWY_STATE_DIR"/keepalived/*/; do
    [ -d "$d" ] || continue
    "$SWY_REPO_ROOT/deploy/keepalived/keepalived.sh" stop --node "$(basename "$d")" || true
  done
  for d in "$SWY_STATE_DIR"/coredns/*/; do
    [ -d "$d" ] || continue
    n="$(cat "$d/netns" 2>/dev/null || true)"
    case " ${ALL_NS[*]} " in *" $n "*)
      [ -n "$n" ] && "$SWY_REPO_ROOT/deploy/coredns/coredns.sh" stop --name "$(basename "$d")" || true
      ;;
    esac
  done
  "$SWY_REPO_ROOT/deploy/etcd/etcd.sh" stop lab || true
  for ns in "${ALL_NS[@]}"; do
    ns_exists "$ns" || continue
    # Anything still inside was started in the lab by hand or by a test: end it by pid.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      swy_log "ending pid $pid left in $ns ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))"
      kill -TERM "$pid" 2>/dev/null || true
    done
  done
  sleep 0.3
  for ns in "${ALL_NS[@]}"; do
    ns_exists "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
    swy_log "deleted namespace $ns"
  done
  # Deleting the router namespace deletes p-host and so its peer; this is for a half-built lab.
  if ip link show "$LAB_HOST_IF" >/dev/null 2>&1; then ip link del "$LAB_HOST_IF"; fi
  swy_log "lab down"
}

status() {
  local rc=0 ns
  for ns in "${ALL_NS[@]}"; do
    if ns_exists "$ns"; then
      echo "$ns: $(ip -n "$ns" -4 -o addr show | awk '$2 != "lo" {printf "%s=%s ", $2, $4}')"
    else
      echo "$ns: missing"
      rc=1
    fi
  done
  if ip link show "$LAB_HOST_IF" >/dev/null 2>&1; then
    echo "host: $(ip -4 -o addr show dev "$LAB_HOST_IF" | awk '{print $2 "=" $4}')"
  else
    echo "host: $LAB_HOST_IF missing"
    rc=1
  fi
  for ns in "$LAB_NS_DNS1" "$LAB_NS_DNS2"; do
    if ns_exists "$ns" && ip -n "$ns" -4 addr show | grep -q "inet $LAB_VIP/"; then
      echo "VIP $LAB_VIP on $ns"
    fi
  done
  return "$rc"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
