#!/usr/bin/env bash
# The GPU check in one command, on the device machine (or anywhere: --device cpu runs it shrunk).
#
# That machine has a CUDA build of torch, numpy, xarray, scipy, scikit-learn, matplotlib, pytest and
# pyyaml, but no package registry: what einet needs beyond them (netCDF4 and cftime) travels as wheels
# in .whl/, made here beforehand by `bash benchmarks/gpu_wheels.sh` (and carried: carry [".whl"]).
# The project itself runs from its source tree. Figures go to $OUT (the device tool's folder that comes
# back) when it is set, else results/gpu_check.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/einet_site .whl/*.whl
  export PYTHONPATH="/tmp/einet_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
exec "$PY" benchmarks/gpu_check.py --out "${OUT:-results/gpu_check}" "$@"
