#!/usr/bin/env bash
# Installs the Debian packages convlog builds against, when missing, and any named as arguments
# (the tests add postgresql). As root it installs them with apt-get; otherwise it names what to
# install and fails.
set -euo pipefail

packages=(liblmdb-dev libcurl4-openssl-dev lmdb-utils pkg-config curl python3-venv "$@")
missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "convlog needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
