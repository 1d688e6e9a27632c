# MSCMR benchmark, BLPSeg + test-time dense CRF with BLPSeg's preset (1
# mean-field iteration; Gaussian sxy 3, compat 3; bilateral sxy 32, srgb 13,
# compat 10), the appearance kernel on the one gray channel of the MR slice
# (mmscribble/models/postprocess/dense_crf.py). No training of its own: the
# table tool tests the blpseg row's checkpoint of the same seed
# (checkpoint_of), and blpseg is its control, so the paired difference is the
# CRF's effect alone. Needs the optional extra: pip install 'mmscribble[crf]'.
# The SPML preset instead: --cfg-options model.test_cfg.crf.preset=spml
_base_ = './blpseg_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(crf=dict(preset='blpseg')))
benchmark = dict(
    method='BLPSeg + dense CRF',
    labels='scribbles',
    baseline=False,
    section='crf',
    control='blpseg',
    checkpoint_of='blpseg')
