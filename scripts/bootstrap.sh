#!/usr/bin/env bash
# One bootstrap step for every entry point (./zlab, npm test, .ci/run):
# system packages, node modules, device binaries. Idempotent and quiet when
# everything is already in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Debian packages zlab needs on the host.
packages=(
  qemu-system-x86 qemu-user-static   # the virtual device; arm64 binaries under qemu-aarch64
  adb fastboot                       # the real Android platform tools
  busybox-static cpio xz-utils kmod  # the virtual device's initramfs
  linux-image-6.12-amd64             # the virtual device's default kernel and modules
  musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross make  # static device binaries
  mkbootimg abootimg                 # boot image peers for cross-checks
  bc bison flex libelf-dev libssl-dev ccache linux-source-6.12  # kernel builds
  chromium                           # opens HTML reports headless in tests (console errors, screenshot)
  python3-junitparser                # a real JUnit XML reader that checks the nightly junit.xml
  liblz4-dev liblzo2-dev libzstd-dev  # host calibration of the eater's compressible pages
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "zlab bootstrap: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "zlab bootstrap: missing system packages. Run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# Node modules: install when absent or when the lock file changed since.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "zlab bootstrap: installing node modules" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Device binaries (make rebuilds only what changed).
make -s -C device-scripts -j2 >&2
