# CDSP on mmseg's DeepLabV3+ (ResNet-50-V1c, output stride 8): the DeepLabV2
# config with the DeepLabV3+ head and Tab. 1's lambdas for this segmentor,
# lambda_s = 2, lambda_c = 7 (printed "lambda_s = e^2, lambda_c = e^7",
# i.e. the exponents of Eq. 14 / 16). No auxiliary head: the paper names
# none. Tab. 3, res50 column with BMP pseudo-labels: 73.9.
_base_ = './cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='CDSPSepASPPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        c1_in_channels=256,
        c1_channels=48,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='PartialCrossEntropyLoss', loss_weight=1.0),
        loss_segc=dict(type='LabelSmoothCrossEntropyLoss', epsilon=0.1),
        loss_ds=dict(type='DistanceEntropyLoss', loss_name='loss_ds'),
        loss_dc=dict(type='DistanceEntropyLoss', loss_name='loss_dc'),
        loss_lorm=dict(type='LoRMLoss'),
        lorm=dict(mask_mode='key', chunk_size=1024),
        lorm_in_index=3,
        lorm_in_channels=2048))
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='CDSPDistanceMaps', lam_s=2.0, lam_c=7.0),
    dict(type='ScribbleRandomResize', scale=None, ratio_range=(0.5, 2.0)),
    dict(
        type='ScribbleRandomRotate',
        degree=10,
        img_pad_val=(103.53, 116.28, 123.675)),
    dict(type='ScribbleGaussianBlur', kernel_size=5, sigma=1.1),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='ScribbleRandomCrop', crop_size=(465, 465)),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
