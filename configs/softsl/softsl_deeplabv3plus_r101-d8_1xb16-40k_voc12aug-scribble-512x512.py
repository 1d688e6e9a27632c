# Soft self-labeling, DeepLabV3+ ResNet-101, batch 16: Table 5's
# "H_CCE + P_CD, V3+, 16" row (78.1 mIoU). Everything else as the R50 file.
_base_ = './softsl_deeplabv3plus_r50-d8_1xb16-40k_voc12aug-scribble-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
