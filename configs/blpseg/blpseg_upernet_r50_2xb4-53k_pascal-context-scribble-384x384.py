# BLPSeg on PASCAL-Context (59 classes + background) with ScribbleSup
# scribbles, UPerNet on ResNet-50-V1c. Model, losses and data pipeline as
# the VOC config; schedule from the authors' PASCAL-Context config
# (experiment/blpseg-context/config.py): batch 8 (2 GPUs x 4), 85 epochs of
# floor(4998 / 8) = 624 iterations = 53040 iterations, lr 2.4e-5 (their VOC
# 3e-5 scaled by 8 / 10), self-training from iteration 20000. The paper
# gives no separate PASCAL-Context schedule; its "40 epochs at batch 10"
# would end (19960 iterations) before the self-training point.
_base_ = './blpseg_upernet_r50_2xb5-42k_voc12aug-scribble-384x384.py'
iters_per_epoch = 624
max_iters = 85 * iters_per_epoch
self_training_begin = 20000
dataset_type = 'PascalContextScribbleDataset'
data_root = 'data/VOCdevkit/VOC2010'
model = dict(decode_head=dict(num_classes=60))
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/SegmentationContext/train.txt',
        data_prefix=dict(seg_map_path='pascal_context_scribble')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/SegmentationContext/val.txt',
        data_prefix=dict(seg_map_path='SegmentationClassContext')))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2.4e-5))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
custom_hooks = [
    dict(
        type='PhaseSwitchHook',
        phases=[
            dict(
                begin=self_training_begin,
                set={'decode_head.self_training': True})
        ])
]
train_cfg = dict(max_iters=max_iters, val_interval=5 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=5 * iters_per_epoch))
