# The ResNet-50 config (the _base_) on ResNet-101-V1c: only the depth
# and the ImageNet weights change (Tab. 1, r101 + v2: 75.3 val).
_base_ = './cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
