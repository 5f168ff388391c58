#!/usr/bin/env bash
# An example of `autoscaler --provider command --command THIS_SCRIPT`: the contract, and where a
# cloud API goes. The autoscaler runs it as
#
#   scale-command.example.sh ACTION GROUP FROM TO      (ACTION: grow or shrink)
#
# with the whole decision as JSON on stdin (see lib/autoscale/provider.ts) and the same facts in
# SWITCHYARD_SCALE_{ACTION,GROUP,FROM,TO,COUNT,REMOVE}. Exit 0 = accepted; anything else = failed
# (logged, counted in switchyard_autoscaler_actions_total{result="error"}, retried after the
# cooldown). Return once the action is under way: do not wait for instances to boot or drain.
set -euo pipefail
action="$1" group="$2" from="$3" to="$4"
request="$(cat)"
log="${SWITCHYARD_STATE_DIR:-/tmp}/scale-command.log"
printf '%s %s %s %s -> %s %s\n' "$(date -Is)" "$action" "$group" "$from" "$to" "$request" >>"$log"

case "$action" in
grow)
  # Start SWITCHYARD_SCALE_COUNT proxies of $group. Each must run
  #   roles proxy --zk <ensemble> --group $group --deregister-seconds <DNS TTL> [--region R]
  # so it registers in ZooKeeper (the dns role then publishes it) and drains properly later.
  # E.g. with an AWS Auto Scaling group per proxy group:
  #   aws autoscaling set-desired-capacity --auto-scaling-group-name "lb-$group" \
  #     --desired-capacity "$to" --honor-cooldown
  echo "would start $SWITCHYARD_SCALE_COUNT proxies of $group" >&2
  ;;
shrink)
  # Stop each proxy in SWITCHYARD_SCALE_REMOVE gracefully: its SIGTERM makes it deregister (leave
  # DNS), wait --deregister-seconds, drain and exit 0. On one host, by pid:
  for pid in $(grep -o '"pid": *[0-9]*' <<<"${request#*\"remove\"}" | head -n "$SWITCHYARD_SCALE_COUNT" | grep -o '[0-9]*$'); do
    echo "would send SIGTERM to $pid" >&2
    # kill -TERM "$pid"
  done
  # In a cloud: terminate the instance through the API with a lifecycle hook / shutdown script
  # that sends the proxy SIGTERM and waits for it to exit, e.g.
  #   aws autoscaling terminate-instance-in-auto-scaling-group --instance-id "$id" \
  #     --should-decrement-desired-capacity
  ;;
*)
  echo "unknown action $action" >&2
  exit 2
  ;;
esac
