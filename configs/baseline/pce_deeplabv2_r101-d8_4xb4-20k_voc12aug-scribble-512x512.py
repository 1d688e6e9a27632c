# The ResNet-50 config (the _base_) on ResNet-101-V1c: only the depth
# and the ImageNet weights change.
_base_ = './pce_deeplabv2_r50-d8_4xb4-20k_voc12aug-scribble-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
