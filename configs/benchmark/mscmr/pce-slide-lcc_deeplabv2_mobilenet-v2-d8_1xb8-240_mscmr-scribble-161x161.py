# MSCMR benchmark, partial CE tested with sliding 161x161 windows
# (mmseg's model.test_cfg mode='slide', stride 107: 4 windows per 212x212
# slice, logits averaged) and the largest-component clean-up:
# the network is trained on 161x161 crops and, tested on the whole slice,
# loses 0.09-0.17 of its mean Dice to that train / test size mismatch
# (docs/convergence.md#the-crop-size-is-a-test-time-mismatch). No training
# of its own: the table tool tests the pce row's checkpoint of the same
# seed (checkpoint_of). Its control is pce-lcc (the clean-up alone), so the
# paired difference is the sliding window's effect on top of the clean-up;
# the control of the methods' -slide-lcc rows.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(
    test_cfg=dict(
        mode='slide',
        crop_size=(161, 161),
        stride=(107, 107),
        largest_component=dict(connectivity=4)))
benchmark = dict(
    method='partial CE, sliding-window test + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce-lcc',
    checkpoint_of='pce')
