# The hooks and loops of mmseg's iteration-based schedules (schedule_20k.py
# and its siblings) without their optimizer, learning-rate policy and
# length: the base of configs that write their own schedule (URSS, BLPSeg,
# the demo, the MSCMR benchmark). A config that inherits a schedule_*.py
# must not inherit this file too: mmengine refuses a key defined by two
# bases of one config.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
