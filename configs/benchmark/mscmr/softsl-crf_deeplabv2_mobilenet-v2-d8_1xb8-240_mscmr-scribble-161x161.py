# MSCMR benchmark, soft self-labeling + test-time dense CRF with BLPSeg's
# preset (1 mean-field iteration; Gaussian sxy 3, compat 3; bilateral sxy 32,
# srgb 13, compat 10), as the other +crf rows, the appearance kernel on the one
# gray channel of the MR slice (mmscribble/models/postprocess/dense_crf.py). No
# training of its own: the table tool tests the softsl row's checkpoint of the
# same seed (checkpoint_of), and softsl is its control, so the paired
# difference is the CRF's effect alone. Needs the optional extra: pip install
# 'mmscribble[crf]'.
# The SPML preset instead: --cfg-options model.test_cfg.crf.preset=spml
_base_ = './softsl_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(crf=dict(preset='blpseg')))
benchmark = dict(
    method='soft self-labeling + dense CRF',
    labels='scribbles',
    baseline=False,
    section='crf',
    control='softsl',
    checkpoint_of='softsl')
