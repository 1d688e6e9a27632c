# Diagnostic (issue 15, URSS on fully shrunk scribbles): the table's
# urss-shrink1.0 row, same seed and schedule, saving a checkpoint every 60
# iterations so that tools/analysis_tools/class_areas.py can follow the
# per-class predicted areas on val through training. Not a row of the
# table (it lives outside configs/benchmark/mscmr/); run with
#   python tools/benchmark/mscmr_table.py --configs <this file> ...
_base_ = ('../mscmr/urss_deeplabv2_mobilenet-v2-d8_1xb8-240_'
          'mscmr-scribble-shrink1.0-161x161.py')
default_hooks = dict(checkpoint=dict(interval=60))
benchmark = dict(
    method='URSS (checkpoints every 60 iterations)',
    labels='shrink 1.0',
    baseline=False,
    control='pce')
