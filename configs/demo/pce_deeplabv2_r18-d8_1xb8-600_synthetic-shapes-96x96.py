# The README demo: partial cross-entropy on the embedded synthetic shapes
# (mmscribble/datasets/synthetic.py), a small dilated ResNet-18 from scratch
# and a DeepLabV2 head. A few minutes on 2 CPU cores.
_base_ = [
    '../_base_/datasets/synthetic_shapes_scribble.py',
    '../_base_/default_runtime.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (96, 96)
model = dict(
    type='ScribbleEncoderDecoder',
    data_preprocessor=dict(
        type='ScribbleDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        # half-width ResNet-18 (stem and stages at 32..256 channels): a
        # quarter of the FLOPs, so the demo trains in minutes on 2 cores.
        stem_channels=32,
        base_channels=32,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=None),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=256,
        in_index=3,
        channels=128,
        bottleneck=True,
        # 12x12 features at 96x96: rates of 6..24 would read mostly padding.
        dilations=(1, 2, 4, 6),
        dropout_ratio=0,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='PartialCrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=600, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300))
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
