# Diagnostic (issue 15): URSS on fully shrunk scribbles with the soft
# entropy switched off (omega1 = 0); random walk, eigenspace term from
# iteration 120 and everything else as the urss-shrink1.0 row. Checkpoint
# every 60 iterations for tools/analysis_tools/class_areas.py.
_base_ = './urss-trace_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-shrink1.0-161x161.py'
model = dict(decode_head=dict(loss_entropy=dict(loss_weight=0.0)))
benchmark = dict(
    method='URSS without the soft entropy (omega1 = 0)',
    labels='shrink 1.0',
    baseline=False,
    control='pce')
