# MSCMR benchmark, SPML stage 1 tested with the largest-connected-component
# clean-up (model.test_cfg.largest_component), as the three best rows of the
# converged table. No training of its own: the table tool tests the
# spml-stage1 row's checkpoint of the same seed (checkpoint_of). No
# control, as spml-stage1: no partial CE row has its head (pce-lcc reads
# other features).
_base_ = './spml-stage1_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(largest_component=dict(connectivity=4)))
benchmark = dict(
    method='SPML stage 1 + largest component',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control=None,
    checkpoint_of='spml-stage1')
