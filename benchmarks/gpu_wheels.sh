#!/usr/bin/env bash
# Wheels the device machine lacks (Python 3.12 there), downloaded here into .whl/ (git-ignored), for
# gpu_check.sh to install from without a registry.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .whl netCDF4 cftime
ls -l .whl
