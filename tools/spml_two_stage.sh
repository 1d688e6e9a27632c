#!/usr/bin/env bash
# SPML, both stages in one command:
#   1. train the embedding (stage-1 config),
#   2. write pseudo-labels with its last checkpoint
#      (tools/spml_pseudo_labels.py) into DATA_ROOT/spml_pseudo_labels,
#   3. train the stage-2 segmentor on them.
# Usage:
#   tools/spml_two_stage.sh STAGE1_CONFIG STAGE2_CONFIG WORK_DIR [GPUS] \
#       [-- extra --cfg-options for both trainings]
# GPUS > 1 trains with tools/dist_train.sh. DATA_ROOT (environment) is
# the VOC root; default data/VOCdevkit/VOC2012.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,12p' "$0"
    exit 1
fi
STAGE1=$1
STAGE2=$2
WORK_DIR=$3
GPUS=${4:-1}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
DATA_ROOT=${DATA_ROOT:-data/VOCdevkit/VOC2012}
DIR=$(cd "$(dirname "$0")" && pwd)
PSEUDO=${DATA_ROOT}/spml_pseudo_labels

train() {
    if [ "$GPUS" -gt 1 ]; then
        bash "$DIR/dist_train.sh" "$1" "$GPUS" --work-dir "$2" "${@:3}"
    else
        python "$DIR/train.py" "$1" --work-dir "$2" "${@:3}"
    fi
}

ROOTS="train_dataloader.dataset.data_root=$DATA_ROOT val_dataloader.dataset.data_root=$DATA_ROOT"
train "$STAGE1" "$WORK_DIR/stage1" --cfg-options $ROOTS "$@"
CKPT=$(cat "$WORK_DIR/stage1/last_checkpoint")
python "$DIR/spml_pseudo_labels.py" "$STAGE1" "$CKPT" "$PSEUDO" \
    --cfg-options train_dataloader.dataset.data_root="$DATA_ROOT"
train "$STAGE2" "$WORK_DIR/stage2" --cfg-options $ROOTS \
    train_dataloader.dataset.data_prefix.seg_map_path=spml_pseudo_labels "$@"
