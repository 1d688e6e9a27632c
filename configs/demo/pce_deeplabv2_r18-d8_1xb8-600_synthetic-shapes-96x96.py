# The README demo: partial cross-entropy on the embedded synthetic shapes
# (mmscribble/datasets/synthetic.py), the DeepLabV2 base narrowed to a
# small dilated ResNet-18 trained from scratch. A few minutes on 2 CPU
# cores.
_base_ = [
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/synthetic_shapes_scribble.py',
    '../_base_/default_runtime.py', '../_base_/schedules/iter_based_hooks.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (96, 96)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        depth=18,
        # half-width ResNet-18 (stem and stages at 32..256 channels): a
        # quarter of the FLOPs, so the demo trains in minutes on 2 cores.
        stem_channels=32,
        base_channels=32,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        in_channels=256,
        channels=128,
        bottleneck=True,
        # 12x12 features at 96x96: rates of 6..24 would read mostly padding.
        dilations=(1, 2, 4, 6),
        num_classes=4,
        norm_cfg=norm_cfg))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=600, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300))
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
