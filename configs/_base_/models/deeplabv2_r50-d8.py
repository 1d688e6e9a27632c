# DeepLabV2 (ASPP classifier) on a dilated ResNet-50-V1c, output stride 8.
# mmseg has no DeepLabV2: backbone, preprocessor and segmentor are those of
# ./deeplabv3plus_r50-d8.py (mmseg's dilated ResNet); only the head differs,
# and there is no auxiliary head.
_base_ = './deeplabv3plus_r50-d8.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=3,
        channels=2048,
        dilations=(6, 12, 18, 24),
        dropout_ratio=0,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='PartialCrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=None)
