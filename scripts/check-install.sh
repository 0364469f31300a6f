#!/usr/bin/env bash
# Checks `make install` (run by `make test`): installs into a temporary prefix, then runs the
# installed binaries with an environment that has no Swift toolchain on its PATH, and checks they
# link no Swift runtime library.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d /tmp/convlog-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory install PREFIX="$prefix" > "$prefix.log" 2>&1 || { tail -40 "$prefix.log" >&2; exit 1; }
rm -f "$prefix.log"
for binary in convlogd convlog; do
    libraries=$(ldd "$prefix/bin/$binary")
    if grep -q 'libswift\|libFoundation' <<< "$libraries"; then
        echo "install: $binary links a Swift runtime library:" >&2
        echo "$libraries" >&2
        exit 1
    fi
done
help=$(env -i PATH=/usr/bin:/bin "$prefix/bin/convlogd" --help)
grep -q 'USAGE: convlogd' <<< "$help" || { echo "install: convlogd --help printed: $help" >&2; exit 1; }
version=$(env -i PATH=/usr/bin:/bin "$prefix/bin/convlog" --version)
grep -q 'convlog' "$prefix/share/bash-completion/completions/convlog" || { echo "install: no bash completion" >&2; exit 1; }
grep -q "ExecStart=$prefix/bin/convlogd" "$prefix/lib/systemd/system/convlogd.service" || { echo "install: the systemd unit does not start the installed convlogd" >&2; exit 1; }
echo "install: ok (convlogd --help and convlog --version $version run without the Swift toolchain; no Swift runtime linked; completions and systemd unit installed)"
