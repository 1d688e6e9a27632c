#!/usr/bin/env bash
# Train with one task per GPU under slurm's srun, as with mmseg:
#   [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [args...]
# WORK_DIR (mmseg 0.x / mmdet habit) is the 4th argument when it is not an
# option; every other argument goes to tools/train.py (--resume, --amp,
# --cfg-options ...). tools/train.py takes rank and world size from slurm.
set -x

if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
if [ $# -ge 4 ] && [[ "$4" != -* ]]; then
    PY_ARGS=(--work-dir="$4" "${@:5}")
else
    PY_ARGS=("${@:4}")
fi

# SRUN_ARGS is left unquoted on purpose: it holds several srun options.
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "${PYTHON}" -u "$(dirname "$0")"/train.py "${CONFIG}" \
    --launcher=slurm "${PY_ARGS[@]}"
