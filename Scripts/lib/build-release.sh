#!/usr/bin/env bash
# Builds the release binaries the benchmarks run (the server, the worker and the benchmark) and sets
# ORCHESTRATOR_RELEASE_BIN to their folder. Sourced by Scripts/bench and Scripts/instructions.
#
# Release binaries on Linux link jemalloc, as Swift servers there usually do (docker/Dockerfile does
# the same): the workers spend about 5 % less CPU per incident than on glibc's malloc, the server
# 2-5 % (docs/performance.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/install-system-packages.sh"

orchestrator_build_release() {
  orchestrator_install_system_packages
  local release_flags=()
  if [ "$(uname -s)" = Linux ]; then
    if orchestrator_install_system_packages libjemalloc-dev; then
      release_flags=(-Xlinker -ljemalloc)
    else
      echo "==> libjemalloc-dev could not be installed: building on glibc's malloc (the JSON's server_malloc says which ran)" >&2
    fi
  fi
  local product
  for product in orchestrator-server incident-worker orchestrator-bench; do
    swift build -c release "${release_flags[@]}" --product "$product" >&2
  done
  ORCHESTRATOR_RELEASE_BIN="$(swift build -c release "${release_flags[@]}" --show-bin-path)"
  export ORCHESTRATOR_RELEASE_BIN
}
