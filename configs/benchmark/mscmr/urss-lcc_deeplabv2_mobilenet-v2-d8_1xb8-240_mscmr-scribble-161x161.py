# MSCMR benchmark, URSS tested with the largest-connected-component clean-up
# (model.test_cfg.largest_component). No training of its own: the table
# tool tests the urss row's checkpoint of the same seed (checkpoint_of). Its
# control is pce-lcc, partial CE with the same clean-up, so the paired
# difference compares the methods after the same post-processing.
_base_ = './urss_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(largest_component=dict(connectivity=4)))
benchmark = dict(
    method='URSS + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce-lcc',
    checkpoint_of='urss')
