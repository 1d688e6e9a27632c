# Soft self-labeling with DeepLabV3+ on MobileNetV2 (width 1.0, output
# stride 8 as mmseg's mobilenet_v2 configs): the network of the paper's
# ablations (Tables 3-4, Fig. 5, 7); the files in ablations/ inherit it.
# Low-level feature for the decoder: 24 channels at stride 4; ASPP on the
# 320 channels of the last stage. ImageNet weights: torchvision's
# (mmscribble://mobilenet_v2, see mmscribble/utils/pretrained.py).
_base_ = './softsl_deeplabv3plus_r50-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='mmscribble://mobilenet_v2')),
    decode_head=dict(in_channels=320, c1_in_channels=24))
