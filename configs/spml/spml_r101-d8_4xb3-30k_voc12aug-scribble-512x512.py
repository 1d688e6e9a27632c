# SPML stage 1 with ResNet-101-V1c: the paper's VOC setting (Tables 3, 5-7).
# Everything else as the ResNet-50 config.
_base_ = './spml_r50-d8_4xb3-30k_voc12aug-scribble-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
