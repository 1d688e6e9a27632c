# BLPSeg on ScribbleSup / VOC 2012 aug with ResNet-101-V1c: the paper's
# setting (Tab. I-VIII). Everything else as the ResNet-50 config.
_base_ = './blpseg_upernet_r50_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
