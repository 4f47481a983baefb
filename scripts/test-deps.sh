#!/usr/bin/env bash
# Installs what dcv's test suite needs on a fresh Debian machine, only when
# it is missing. Safe to run again.
set -euo pipefail

need=()
# Go toolchain: the suite needs Go 1.26.
if ! command -v go >/dev/null 2>&1; then
  echo "test-deps: Go 1.26 is required (https://go.dev/dl)" >&2
  exit 1
fi
# The Debian packages named on the command line (the Makefile's
# DEB_PACKAGES): real peers the suite runs against, such as knot.
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
go mod download
