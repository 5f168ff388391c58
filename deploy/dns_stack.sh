#!/usr/bin/env bash
# The DNS discovery stack (etcd + CoreDNS + keepalived + the lab), as one command.
#
#   deploy/dns_stack.sh up            install what is missing and build CoreDNS; starts nothing
#                                     (CI runs this before `deno test`: tests start what they need)
#   deploy/dns_stack.sh start local   etcd (single) + CoreDNS on 127.0.0.1:1053, for a person
#   deploy/dns_stack.sh start lab     the lab + etcd in it + two CoreDNS nodes + keepalived (VIP)
#   deploy/dns_stack.sh status        what runs
#   deploy/dns_stack.sh down          stop everything the DNS scripts started; tear the lab down
#
# Debian packages: etcd-server etcd-client keepalived dnsutils iproute2 iputils-ping curl
# (apt-get install -y only for binaries that are absent). CoreDNS: deploy/coredns/install.sh.
set -euo pipefail
export SWY_LOG_TAG=dns-stack
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "${SWITCHYARD_LAB_ENV:-$SWY_REPO_ROOT/deploy/lab/lab.env}"

D="$SWY_REPO_ROOT/deploy"

# render SPEC.json OUT: a Corefile from a JSON spec, with the project's own generator.
render() {
  local runner
  if [ -x "$SWY_REPO_ROOT/node_modules/.bin/deno" ]; then
    runner=("$SWY_REPO_ROOT/node_modules/.bin/deno" run --allow-read)
  elif command -v deno >/dev/null 2>&1; then
    runner=(deno run --allow-read)
  elif [ -x "$SWY_REPO_ROOT/node_modules/.bin/bun" ]; then
    runner=("$SWY_REPO_ROOT/node_modules/.bin/bun")
  else
    swy_die "neither deno nor bun found (npm install first)"
  fi
  DENO_NO_UPDATE_CHECK=1 "${runner[@]}" "$D/coredns/render_corefile.ts" "$1" >"$2.tmp"
  mv -f "$2.tmp" "$2"
}

up() {
  local started=$SECONDS bin plugins
  swy_ensure_cmd etcd etcd-server
  swy_ensure_cmd etcdctl etcd-client
  swy_ensure_cmd keepalived keepalived
  swy_ensure_cmd dig dnsutils
  swy_ensure_cmd ip iproute2
  swy_ensure_cmd ping iputils-ping
  swy_ensure_cmd curl curl
  swy_ensure_cmd flock util-linux
  bin="$("$D/coredns/install.sh")"
  plugins="$("$bin" -plugins)"
  for plugin in etcd view forward cache loadbalance health ready prometheus reload errors log bind; do
    grep -qx "[[:space:]]*$plugin" <<<"$plugins" || swy_die "$bin lacks the $plugin plugin"
  done
  swy_log "ready in $((SECONDS - started))s: etcd $(etcd --version | sed -n 's/^etcd Version: //p')," \
    "$("$bin" -version | head -n1), $(keepalived --version 2>&1 | head -n1 | cut -d' ' -f1-2)"
}

start_local() {
  local dir="$SWY_STATE_DIR/dns-stack"
  mkdir -p "$dir"
  "$D/etcd/etcd.sh" start single
  render "$D/coredns/corefile.local.json" "$dir/local.Corefile"
  "$D/coredns/coredns.sh" start --name local --corefile "$dir/local.Corefile"
  swy_log "try: dig @127.0.0.1 -p 1053 api.example.com" \
    "(after: etcdctl put /skydns/com/example/api/lb1 '{\"host\":\"198.18.10.1\"}')"
}

start_lab() {
  local dir="$SWY_STATE_DIR/dns-stack" n ns
  mkdir -p "$dir"
  "$D/lab/lab.sh" up
  "$D/etcd/etcd.sh" start lab
  render "$D/lab/corefile.lab.json" "$dir/lab.Corefile"
  for n in 1 2; do
    ns="LAB_NS_DNS$n"
    "$D/coredns/coredns.sh" start --name "lab-dns$n" --netns "${!ns}" --corefile "$dir/lab.Corefile"
  done
  "$D/keepalived/keepalived.sh" config --node dns1 --role master >/dev/null
  "$D/keepalived/keepalived.sh" config --node dns2 --role backup >/dev/null
  "$D/keepalived/keepalived.sh" start --node dns1 --netns "$LAB_NS_DNS1"
  swy_wait_until 15 "dns1 to hold the VIP" \
    bash -c "ip -n $LAB_NS_DNS1 -4 addr show | grep -q 'inet $LAB_VIP/'" || true
  "$D/keepalived/keepalived.sh" start --node dns2 --netns "$LAB_NS_DNS2"
  "$D/lab/lab.sh" status
  swy_log "try: ip netns exec $LAB_NS_CLIENT1 dig @$LAB_VIP api.example.com" \
    "(records: etcdctl --endpoints http://$LAB_ETCD_IP:$LAB_ETCD_CLIENT_PORT put ...)"
}

status() {
  local d rc=0
  for p in single cluster lab; do "$D/etcd/etcd.sh" status "$p" 2>/dev/null | sed 's/^/etcd /' || true; done
  for d in "$SWY_STATE_DIR"/coredns/*/; do
    [ -f "$d/coredns.pid" ] || continue
    echo "coredns $("$D/coredns/coredns.sh" status --name "$(basename "$d")" || true)"
  done
  for d in "$SWY_STATE_DIR"/keepalived/*/; do
    [ -f "$d/keepalived.pid" ] || continue
    echo "keepalived $("$D/keepalived/keepalived.sh" status --node "$(basename "$d")" || true)"
  done
  "$D/lab/lab.sh" status >/dev/null 2>&1 && "$D/lab/lab.sh" status | sed 's/^/lab /' || echo "lab down"
  return "$rc"
}

down() {
  local d
  for d in "$SWY_STATE_DIR"/keepalived/*/; do
    [ -f "$d/keepalived.pid" ] && "$D/keepalived/keepalived.sh" stop --node "$(basename "$d")"
  done
  for d in "$SWY_STATE_DIR"/coredns/*/; do
    [ -f "$d/coredns.pid" ] && "$D/coredns/coredns.sh" stop --name "$(basename "$d")"
  done
  for p in single cluster lab; do "$D/etcd/etcd.sh" stop "$p"; done
  if ip netns list 2>/dev/null | grep -qw "$LAB_NS_ROUTER" || ip link show "$LAB_HOST_IF" >/dev/null 2>&1; then
    "$D/lab/lab.sh" down
  fi
  swy_log "down"
}

case "${1:-}" in
up | install) up ;;
start)
  case "${2:-local}" in
  local) start_local ;;
  lab) start_lab ;;
  *) swy_die "start local|lab" ;;
  esac
  ;;
status) status ;;
down) down ;;
*)
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
