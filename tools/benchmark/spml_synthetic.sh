#!/usr/bin/env bash
# SPML against partial CE on the README demo's synthetic shapes (issue 25's
# SPML diagnosis, docs/spml.md): images whose tags are informative and
# whose objects are many embedding cells wide. One seed, in order:
#   1. partial CE, the demo config (its val mIoU at the end of training),
#   2. SPML stage 1 (configs/demo/spml-stage1_*; val mIoU of its classifier,
#      fitted on the fixed embedding at the end: SPMLClassifierRefitHook),
#   3. stage-1 pseudo-labels on the 240 training images
#      (tools/spml_pseudo_labels.py, Algorithm 1) and their mIoU against the
#      dense training masks the generator also writes (ann_dir/full),
#   4. SPML stage 2: the demo's partial-CE network trained on every pixel
#      of those pseudo-labels (its val mIoU).
# Usage: tools/benchmark/spml_synthetic.sh [WORK_DIR] [-- extra options of
# tools/train.py]; run from the repository root; the dataset is generated
# into data/synthetic_shapes when missing. 12 min on one thread here
# (2026-12-07, other runs sharing the 2 cores).
set -euo pipefail
WORK=${1:-work_dirs/spml_synthetic}
shift $(( $# < 1 ? $# : 1 ))
[ "${1:-}" = "--" ] && shift
PY=${PYTHON:-python}
DATA=data/synthetic_shapes
PCE=configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py
STAGE1=configs/demo/spml-stage1_r18-d8_1xb8-600_synthetic-shapes-96x96.py
[ -f "$DATA/splits/train.txt" ] || \
    $PY tools/dataset_converters/make_synthetic_shapes.py --out-dir "$DATA"
$PY tools/train.py "$PCE" --work-dir "$WORK/pce" "$@"
$PY tools/train.py "$STAGE1" --work-dir "$WORK/stage1" "$@"
$PY tools/spml_pseudo_labels.py "$STAGE1" "$(cat "$WORK/stage1/last_checkpoint")" \
    "$WORK/pseudo_label" --device cpu
$PY tools/dataset_converters/pseudo_label_miou.py "$WORK/pseudo_label" \
    "$DATA/ann_dir/full" --split "$DATA/splits/train.txt" --num-classes 4 \
    --class-names background disc box triangle | tee "$WORK/pseudo_label_miou.md"
$PY tools/train.py "$PCE" --work-dir "$WORK/stage2" --cfg-options \
    train_dataloader.dataset.data_prefix.seg_map_path="$(cd "$WORK" && pwd)/pseudo_label" "$@"
