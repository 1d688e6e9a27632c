# BLPSeg on PASCAL-Context with ResNet-101-V1c: the paper's setting
# (Tab. VIII). Everything else as the ResNet-50 config.
_base_ = './blpseg_upernet_r50_2xb4-53k_pascal-context-scribble-384x384.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
