# mmseg's UPerNet on ResNet-50-V1c (output stride 32, PPM + FPN decoder)
# for scribbles: the scribble-aware preprocessor and segmentor, partial
# cross-entropy (mean over labeled pixels) instead of mmseg's cross-entropy
# (mean over all pixels, 97% of which are unlabeled in a scribble label),
# 21 VOC classes, and the ImageNet weights as the backbone's init_cfg.
_base_ = 'mmseg::_base_/models/upernet_r50.py'
data_preprocessor = dict(type='ScribbleDataPreProcessor')
model = dict(
    type='ScribbleEncoderDecoder',
    data_preprocessor=data_preprocessor,
    # The weights are named in backbone.init_cfg, which a derived config can
    # replace (R101) or drop (init_cfg=None) in one place.
    pretrained=None,
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        num_classes=21,
        loss_decode=dict(
            _delete_=True, type='PartialCrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        num_classes=21,
        loss_decode=dict(
            _delete_=True, type='PartialCrossEntropyLoss', loss_weight=0.4)))
