# Diagnostic (issue 15): the table's softsl-shrink1.0 row (soft
# self-labeling on one-pixel strokes, which scored mean Dice 0.000 on
# 2026-12-03: every val pixel predicted background), same seed and
# schedule, saving a checkpoint every 60 iterations so that
# tools/analysis_tools/class_areas.py can show the per-class predicted
# areas before (iterations 60, 120) and after (180, 240) the phase switch
# to self-labeling at iteration 120. Not a row of the table; run with
#   python tools/benchmark/mscmr_table.py --configs <this file> ...
_base_ = ('../mscmr/softsl_deeplabv2_mobilenet-v2-d8_1xb8-240_'
          'mscmr-scribble-shrink1.0-161x161.py')
default_hooks = dict(checkpoint=dict(interval=60))
benchmark = dict(
    method='soft self-labeling (checkpoints every 60 iterations)',
    labels='shrink 1.0',
    baseline=False,
    control='pce')
