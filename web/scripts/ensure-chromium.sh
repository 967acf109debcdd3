#!/usr/bin/env bash
# Installs Debian's Chromium for the end-to-end tests when it is missing. (Playwright's own browser
# download cannot work on machines that reach only package registries; playwright-core drives this one.)
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing chromium for the end-to-end tests"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
test -x "$chromium"
