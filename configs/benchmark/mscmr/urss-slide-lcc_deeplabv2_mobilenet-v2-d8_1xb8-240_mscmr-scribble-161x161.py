# MSCMR benchmark, URSS tested with sliding 161x161 windows
# (mmseg's model.test_cfg mode='slide', stride 107: 4 windows per 212x212
# slice, logits averaged) and the largest-component clean-up:
# the network is trained on 161x161 crops and, tested on the whole slice,
# loses 0.09-0.17 of its mean Dice to that train / test size mismatch
# (docs/convergence.md#the-crop-size-is-a-test-time-mismatch). No training
# of its own: the table tool tests the urss row's checkpoint of the same
# seed (checkpoint_of). Its control is pce-slide-lcc, partial CE tested
# the same way, so the paired difference is the method's.
_base_ = './urss_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(
    test_cfg=dict(
        mode='slide',
        crop_size=(161, 161),
        stride=(107, 107),
        largest_component=dict(connectivity=4)))
benchmark = dict(
    method='URSS, sliding-window test + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce-slide-lcc',
    checkpoint_of='urss')
