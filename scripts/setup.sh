#!/usr/bin/env bash
# Installs what Steward needs to build, test and run, from Debian packages (and buf from the npm
# registry), skipping whatever is already there. Sourced by run.sh and test.sh; safe to run alone.
set -euo pipefail

STEWARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# What each package is for is listed in README.md ("Dependencies").
STEWARD_DEBIAN_PACKAGES=(
  cmake ninja-build g++ pkg-config ccache
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev grpc-proto
  libabsl-dev libhiredis-dev redis-server
  libcurl4-openssl-dev libssl-dev
  libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm
)

steward_install_debian_packages() {
  local missing=()
  for package in "${STEWARD_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  # Node and npm may come from elsewhere than Debian (e.g. a preinstalled toolchain): a working
  # `npm` on PATH is enough.
  if command -v npm >/dev/null 2>&1; then
    local filtered=()
    for package in "${missing[@]}"; do
      [[ $package == nodejs || $package == npm ]] || filtered+=("$package")
    done
    missing=("${filtered[@]}")
  fi
  # kubectl renders the Kubernetes manifests for k8s_manifests_test (`kubectl kustomize`). Any kubectl
  # will do, so Debian's kubernetes-client (kubectl 1.20) only when none is on PATH: it conflicts with
  # other kubectl packages (e.g. the Google Cloud SDK's).
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  ((${#missing[@]} == 0)) && return 0
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

steward_install_npm_tools() {
  # buf (buf curl, buf lint), and kubernetes-models and yaml for k8s/validate_manifests_test.mjs.
  if [[ ! -x "$STEWARD_ROOT/node_modules/.bin/buf" || ! -d "$STEWARD_ROOT/node_modules/kubernetes-models" ||
        ! -d "$STEWARD_ROOT/node_modules/yaml" ]]; then
    echo "setup: installing the npm tools of package.json from the npm registry" >&2
    (cd "$STEWARD_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# steward_build BUILD_DIR [extra cmake args...]: configures (once) and builds everything.
steward_build() {
  local build_dir=$1
  shift
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    cmake -S "$STEWARD_ROOT" -B "$build_dir" -G Ninja "$@" >&2
  fi
  cmake --build "$build_dir" -j "$(nproc)" >&2
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  steward_install_debian_packages
  steward_install_npm_tools
fi
