# Diagnostic (issue 15): URSS on fully shrunk scribbles without the
# eigenspace term (no PhaseSwitchHook: phase 1, random walk + partial CE +
# soft entropy, for all 240 iterations). Checkpoint every 60 iterations
# for tools/analysis_tools/class_areas.py.
_base_ = './urss-trace_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-shrink1.0-161x161.py'
custom_hooks = []
benchmark = dict(
    method='URSS without the eigenspace term',
    labels='shrink 1.0',
    baseline=False,
    control='pce')
