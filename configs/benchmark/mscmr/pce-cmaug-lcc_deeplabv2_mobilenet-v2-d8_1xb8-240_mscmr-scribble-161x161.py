# MSCMR benchmark, the two recipe changes together: partial CE trained
# with the CycleMix augmentation (pce-cmaug) and tested with the
# largest-connected-component clean-up (pce-lcc). No training of its own:
# the table tool tests pce-cmaug's checkpoint of the same seed
# (checkpoint_of); its control is the plain pce row, so the paired
# difference is what the recipe gives over the baseline.
_base_ = './pce-cmaug_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(largest_component=dict(connectivity=4)))
benchmark = dict(
    method='partial CE, CycleMix augmentation + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce',
    checkpoint_of='pce-cmaug')
