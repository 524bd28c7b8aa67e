#!/usr/bin/env bash
# The Redis Streams tests start their own redis-server (Debian's redis-server 7); install it when missing.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  redis-server --version
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server
# The package's service is not needed (the tests run their own servers); stop it where a service manager runs it.
$SUDO service redis-server stop >/dev/null 2>&1 || true
redis-server --version
