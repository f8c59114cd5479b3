#!/bin/sh
# Make sure a redis-server binary is available for sandboxes and tests.
# Debian/Ubuntu: installs redis-server and redis-tools (as root, or through sudo).
# Elsewhere: prints the command to run and stops.
set -e
if [ -n "$KVTOP_REDIS_SERVER" ] && [ -x "$KVTOP_REDIS_SERVER" ]; then exit 0; fi
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then exit 0; fi
if command -v valkey-server >/dev/null 2>&1; then exit 0; fi

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "redis-server is missing. Install it as root: apt-get update && apt-get install -y redis-server redis-tools" >&2
    exit 1
  fi
  echo "Installing redis-server and redis-tools (Debian packages)..." >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  # The package starts a system service on 6379; kvtop's sandboxes do not need it.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
  exit 0
fi
case "$(uname -s)" in
  Darwin) echo "redis-server is missing. Install it with: brew install redis" >&2 ;;
  *) echo "redis-server is missing. Install redis-server (or valkey-server) with your package manager, or set KVTOP_REDIS_SERVER." >&2 ;;
esac
exit 1
