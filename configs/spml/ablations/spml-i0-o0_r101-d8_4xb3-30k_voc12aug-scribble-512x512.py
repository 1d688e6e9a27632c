# SPML Table 6 row: lambda_I = 0, lambda_O = 0, lambda_A = 0
# (paper mIoU in configs/spml/README.md).
# Concentrations as Table 5; lambda_C = 1. Everything else as the
# R101 config.
_base_ = '../spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py'
model = dict(
    decode_head=dict(
        loss_image=None,
        loss_cooccurrence=None))
# No image relation: the superpixels are not computed.
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(
        type='ScribbleRandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='ScribbleRandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
