# URSS on ScribbleSup with ResNet-101-V1c: the paper's 74.6 mIoU setting
# (Tab. 4). Everything else as the ResNet-50 config.
_base_ = './urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
