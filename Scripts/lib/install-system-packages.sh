#!/usr/bin/env bash
# Installs the Debian packages the build needs (SQLite and OpenSSL headers) when they are missing.
# Sourced by the project's scripts; safe to run again.
set -euo pipefail

orchestrator_install_system_packages() {
  local missing=()
  for package in libsqlite3-dev libssl-dev "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "==> installing missing system packages: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq "${missing[@]}"
}
