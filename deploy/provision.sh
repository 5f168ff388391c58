#!/usr/bin/env bash
# Installs (when missing) and prepares everything the test suite needs on a
# fresh Debian machine. Idempotent; run as root. Called by tests/run.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
SWY_LOG_TAG=provision

# A new machine's package lists can be months old: refresh them once, before anything is
# installed (skipped when refreshed in the last 12 hours; exported to the scripts below).
swy_apt_update_once

# Debian packages the tests use directly (each only installed when its binary is absent).
bash "$SWY_REPO_ROOT/deploy/prometheus/prometheus.sh" install   # prometheus + promtool
swy_ensure_cmd curl curl
swy_ensure_cmd openssl openssl            # test certificates (lib/tls, certificates in ZooKeeper)
swy_ensure_cmd chromium chromium           # the console's browser test in Chromium (playwright-core)
swy_ensure_cmd firefox-esr firefox-esr     # and in Firefox (puppeteer-core over WebDriver BiDi)
swy_ensure_cmd h2load nghttp2-client     # HTTP/2 load (tests/http2, the benchmarks)
swy_ensure_cmd wrk wrk                     # load in the autoscaling test and the benchmarks
swy_ensure_cmd systemd-analyze systemd     # `systemd-analyze verify` of deploy/systemd/
swy_ensure_cmd testssl testssl.sh          # the TLS listener checked by testssl.sh (tests/tls/testssl_test.ts)
swy_ensure_cmd unshare util-linux          # the executable's tests hide the checkout from it
swy_ensure_cmd node nodejs                 # gRPC servers and clients (@grpc/grpc-js) in tests/grpc
# a JSON Schema validator (draft 2020-12), as editors use, for the generated schema/ files
python3 -c 'import jsonschema' 2>/dev/null || swy_apt_install python3-jsonschema

# Services with their own provisioning scripts (install only; tests start what they need).
if [ -x "$SWY_REPO_ROOT/deploy/zookeeper/zk.sh" ]; then
  bash "$SWY_REPO_ROOT/deploy/zookeeper/zk.sh" install
fi
if [ -x "$SWY_REPO_ROOT/deploy/dns_stack.sh" ]; then
  bash "$SWY_REPO_ROOT/deploy/dns_stack.sh" up
fi
# h2spec, the HTTP/2 conformance suite (a Go module, built once into .cache/h2spec)
bash "$SWY_REPO_ROOT/deploy/h2spec/install.sh" >/dev/null
swy_log "provisioned"
