# Soft self-labeling, DeepLabV3+ ResNet-101, batch 12: Table 5's
# "H_CCE + P_CD, V3+, 12" row (77.7 mIoU). Everything else as the R50 file.
_base_ = './softsl_deeplabv3plus_r50-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
