# MSCMR benchmark, SPML + test-time dense CRF with SPML's own preset (10 mean-
# field iterations; Gaussian sxy 1, compat 3; bilateral sxy 67, srgb 3, compat
# 4), the appearance kernel on the one gray channel of the MR slice
# (mmscribble/models/postprocess/dense_crf.py). No training of its own: the
# table tool tests the spml row's checkpoint of the same seed (checkpoint_of),
# and spml is its control, so the paired difference is the CRF's effect alone.
# Needs the optional extra: pip install 'mmscribble[crf]'.
# The BLPSeg preset instead: --cfg-options model.test_cfg.crf.preset=blpseg
_base_ = './spml_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(test_cfg=dict(crf=dict(preset='spml')))
benchmark = dict(
    method='SPML + dense CRF',
    labels='scribbles',
    baseline=False,
    section='crf',
    control='spml',
    pseudo_labels_of=None,
    pseudo_label_tool='segmentor',
    checkpoint_of='spml')
