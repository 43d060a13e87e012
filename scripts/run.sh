#!/usr/bin/env bash
# Builds Steward and starts the all-in-one server on the embedded in-memory store with demo data,
# ready for `buf curl` or grpcurl on 127.0.0.1:50051 (see README.md for a tour). Extra arguments go
# to the server, e.g. scripts/run.sh --listen=0.0.0.0:50051 --store=redis://127.0.0.1:6379/0
# scripts/run.sh --demo [--no-pause | --check] builds, then runs scripts/demo.sh instead: the tour of
# docs/tour.md, the four services as separate processes on a throwaway local Redis.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

steward_install_debian_packages
steward_install_npm_tools
build_dir="${STEWARD_BUILD_DIR:-$STEWARD_ROOT/build}"
steward_build "$build_dir"

if [[ "${1:-}" == --demo ]]; then
  shift
  STEWARD_BINARY="$build_dir/server/steward" exec "$STEWARD_ROOT/scripts/demo.sh" "$@"
fi

echo "steward: serving on 127.0.0.1:50051 (Ctrl-C stops it). Try:" >&2
echo "  node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:50051" >&2
exec "$build_dir/server/steward" --listen=127.0.0.1:50051 --services=all --store=memory --demo_data "$@"
