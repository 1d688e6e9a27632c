#!/usr/bin/env bash
# Test with one task per GPU under slurm's srun, as with mmseg:
#   [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [args...]
# Every argument after CHECKPOINT goes to tools/test.py (--work-dir, --out,
# --tta, --cfg-options ...). tools/test.py takes rank and world size from
# slurm.
set -x

if [ $# -lt 4 ] || [[ "$4" == -* ]]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
PY_ARGS=("${@:5}")

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
    "${PYTHON}" -u "$(dirname "$0")"/test.py "${CONFIG}" "${CHECKPOINT}" \
    --launcher=slurm "${PY_ARGS[@]}"
