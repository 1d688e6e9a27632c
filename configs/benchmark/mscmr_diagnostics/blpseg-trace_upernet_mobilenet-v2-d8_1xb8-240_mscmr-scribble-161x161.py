# Diagnostic (issue 15, BLPSeg self-training): the table's blpseg row, same
# seed, with a checkpoint every 60 iterations, so that
# tools/analysis_tools/self_training_quality.py can score the
# self-training targets a model of iteration 60 / 120 / 180 would make
# under each selection rule, on val only.
_base_ = ('../mscmr/blpseg_upernet_mobilenet-v2-d8_1xb8-240_'
          'mscmr-scribble-161x161.py')
default_hooks = dict(checkpoint=dict(interval=60))
benchmark = dict(
    method='BLPSeg (checkpoints every 60 iterations)',
    labels='scribbles',
    baseline=False,
    control='pce-upernet')
