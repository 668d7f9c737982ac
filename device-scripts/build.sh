#!/usr/bin/env bash
# Build the device-side binaries (static, x86_64 and arm64) into device-scripts/out/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
make -C "$here" -j2 "$@"
