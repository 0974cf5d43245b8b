#!/usr/bin/env bash
# Installs the Debian 12 packages rowcached needs to build, test and benchmark.
# Idempotent and quick when everything is present: apt-get runs only for missing packages.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries
  libboost-dev libconcurrentqueue-dev catch2 libpqxx-dev libmysqlcppconn-dev libmariadb-dev
  libsqlite3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libssl-dev liblzf-dev
  # real servers and clients used by tests and benchmarks
  mariadb-server mariadb-client postgresql redis-server redis-tools sqlite3 procps gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start on install (no systemd here; tests start private instances).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
