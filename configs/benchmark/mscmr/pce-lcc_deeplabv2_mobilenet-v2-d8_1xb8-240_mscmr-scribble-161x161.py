# MSCMR benchmark, partial CE + test-time largest-connected-component
# clean-up (mmscribble/models/postprocess/largest_component.py): per slice,
# RV, Myo and LV each keep their largest 4-connected region, the rest
# becomes background, as the cardiac MR code of the CycleMix and
# ZScribbleSeg authors does. No training of its own: the table tool tests
# the pce row's checkpoint of the same seed (checkpoint_of), and pce is its
# control, so the paired difference is the clean-up's effect alone (issue
# 25's recipe search). Any config switches it on with
#   --cfg-options model.test_cfg.largest_component.connectivity=4
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(largest_component=dict(connectivity=4)))
benchmark = dict(
    method='partial CE + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce',
    checkpoint_of='pce')
