#!/usr/bin/env bash
# Install headless Chromium and its WebDriver from Debian's packages, for the report's browser test
# (tests/test_report_browser.py). Called by `make setup`; needs root for apt-get (CI runs as root).
# Idempotent: prints the browser's path when it is there; exits 0 without root (the test then skips
# with a one-line reason), 1 when apt-get failed.
set -uo pipefail

log() { echo "[browser] $*" >&2; }

have() { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }

if have; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "chromium/chromedriver missing and not root: the browser test will be skipped (sudo $0 installs them)"
  exit 0
fi
log "installing chromium and chromium-driver from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null; } \
  || { log "apt-get could not install chromium: the browser test will be skipped"; [ "${CI:-}" = true ] && exit 1; exit 0; }
have || { log "chromium installed but not on PATH"; exit 1; }
log "$(chromium --version 2>/dev/null)"
