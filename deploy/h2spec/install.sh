#!/usr/bin/env bash
# Builds h2spec (the HTTP/2 conformance suite, github.com/summerwind/h2spec) from the Go module
# proxy, once per machine.
#
#   deploy/h2spec/install.sh          build if needed, print the binary's path on stdout
#   deploy/h2spec/install.sh --path   print the path the binary has (or will have), build nothing
#
# Binary:   ${SWITCHYARD_CACHE_DIR:-<repo>/.cache}/h2spec/<version>/h2spec
# Go cache: ${SWITCHYARD_CACHE_DIR:-<repo>/.cache}/h2spec/{gopath,gocache}
# Env: H2SPEC_VERSION overrides the pinned version.
set -euo pipefail
SWY_LOG_TAG=h2spec-install
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

H2SPEC_VERSION="${H2SPEC_VERSION:-v2.2.1+incompatible}"
ROOT="$SWY_CACHE_DIR/h2spec"
VDIR="$ROOT/$H2SPEC_VERSION"
BIN="$VDIR/h2spec"

if [ "${1:-}" = --path ]; then
  printf '%s\n' "$BIN"
  exit 0
fi
[ -x "$BIN" ] && { printf '%s\n' "$BIN"; exit 0; }

mkdir -p "$VDIR"
# one build at a time per cache dir (tests may call this concurrently)
exec 9>"$ROOT/.lock"
flock 9
[ -x "$BIN" ] && { printf '%s\n' "$BIN"; exit 0; }

GO="$(command -v go 2>/dev/null || true)"
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true
if [ -z "$GO" ]; then
  swy_ensure_cmd go golang-go
  GO="$(command -v go)"
fi
export GOPATH="$ROOT/gopath" GOMODCACHE="$ROOT/gopath/pkg/mod" GOCACHE="$ROOT/gocache"
export GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOBIN="$VDIR"
started=$SECONDS
swy_log "building h2spec $H2SPEC_VERSION (go $("$GO" env GOVERSION))"
"$GO" install "github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION" >&2
[ -x "$BIN" ] || swy_die "go install did not produce $BIN"
swy_log "built h2spec in $((SECONDS - started)) s"
printf '%s\n' "$BIN"
