#!/bin/sh
# keepalived vrrp_script: exit 0 when the local CoreDNS answers its health endpoint.
#   check_coredns.sh [URL]   (default http://127.0.0.1:18053/health, the CoreDNS health plugin)
# Runs in the DNS node's network namespace, so 127.0.0.1 is that node's CoreDNS.
exec curl -fsS --max-time 1 -o /dev/null "${1:-http://127.0.0.1:18053/health}"
