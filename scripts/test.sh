#!/usr/bin/env bash
# Builds Steward with warnings as errors and runs every test: unit tests, the store contract tests on
# the in-memory store and on a real redis-server (each Redis test starts its own on a free loopback
# port), the gRPC API tests, and the black-box test of the built binary. CI runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

steward_install_debian_packages
steward_install_npm_tools
build_dir="${STEWARD_BUILD_DIR:-$STEWARD_ROOT/build-test}"
start=$(date +%s)
steward_build "$build_dir" -DSTEWARD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "test: built in $(( $(date +%s) - start )) s" >&2

echo "test: buf lint proto/steward" >&2
(cd "$STEWARD_ROOT" && node_modules/.bin/buf lint)

cd "$build_dir"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
