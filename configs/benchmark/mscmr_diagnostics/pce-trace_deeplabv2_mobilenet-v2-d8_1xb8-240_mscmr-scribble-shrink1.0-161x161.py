# Diagnostic (issue 15): the table's pce-shrink1.0 row (partial CE on fully
# shrunk scribbles), same seed, with a checkpoint every 60 iterations: the
# control's per-class areas through training for
# tools/analysis_tools/class_areas.py.
_base_ = ('../mscmr/pce_deeplabv2_mobilenet-v2-d8_1xb8-240_'
          'mscmr-scribble-shrink1.0-161x161.py')
default_hooks = dict(checkpoint=dict(interval=60))
benchmark = dict(
    method='partial CE (checkpoints every 60 iterations)',
    labels='shrink 1.0',
    baseline=False,
    control=None)
