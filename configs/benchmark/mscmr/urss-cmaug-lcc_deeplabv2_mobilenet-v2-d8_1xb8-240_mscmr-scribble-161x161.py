# MSCMR benchmark, the whole recipe on URSS: trained with the CycleMix
# augmentation (urss-cmaug) and tested with the largest-connected-component
# clean-up. No training of its own: the table tool tests urss-cmaug's
# checkpoint of the same seed (checkpoint_of). Its control is
# pce-cmaug-lcc, partial CE with the same augmentation and clean-up.
_base_ = './urss-cmaug_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(largest_component=dict(connectivity=4)))
benchmark = dict(
    method='URSS, CycleMix augmentation + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce-cmaug-lcc',
    checkpoint_of='urss-cmaug')
