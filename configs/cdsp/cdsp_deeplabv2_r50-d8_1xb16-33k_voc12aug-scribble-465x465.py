# CDSP (Zhang et al., AAAI 2024) on ScribbleSup / VOC 2012 aug, ResNet-50-V1c
# dilated to output stride 8, DeepLabV2 ASPP classifier: the paper's
# ablation model (Tab. 2, last row, 73.91 mIoU). See configs/cdsp/README.md.
#
# Loss (Eq. 5, 7): partial CE on the scribbles (Eq. 8) + label-smoothed CE
# (epsilon 0.1) on the pseudo-labels (Eq. 9) + LoRM's MSE (Eq. 13, the
# paper's key mask) + the distance entropies on d_s and d_c (Eq. 15, 17),
# all with weight 1; lambda_s = 1, lambda_c = 6 (Tab. 2's grid search; the
# lambdas of the authors' published maps).
#
# Pseudo-labels: BMP's (the paper's), read from <data_root>/bmp_pseudolabel
# (one PNG per image, 0 = background, class ids, 255 = none). Distance maps:
# computed online by CDSPDistanceMaps; to precompute them run
# tools/dataset_converters/cdsp_distance_maps.py and add --cfg-options
# train_dataloader.dataset.data_prefix.gt_distance_map=distance_map
# train_dataloader.dataset.data_prefix.gt_distance_pseudo=distance_pseudo.
#
# Schedule (paper): 50 epochs at batch 16 on one GPU, i.e.
# 50 * ceil(10582 / 16) = 33100 iterations; SGD lr 1e-3, momentum 0.9,
# weight decay 5e-4; linear warm-up over 10 epochs (6620 iterations), then
# cosine to 0. Augmentation: URSS's (scale 0.5-2, rotation +-10 deg,
# Gaussian blur, flip, 465 crop). Mixed precision is not in the paper; the
# authors' train.py trains under torch.cuda.amp (autocast + GradScaler):
# add --amp to tools/train.py to do the same.
# Evaluation: long side 512, 465x465 sliding window with stride 310;
# `tools/test.py --tta` adds the 7 scales 0.5-2.
_base_ = [
    '../_base_/models/deeplabv2_r50-d8.py',
    '../_base_/datasets/voc12aug_scribble.py', '../_base_/default_runtime.py',
    '../_base_/schedules/iter_based_hooks.py'
]
crop_size = (465, 465)
epoch_iters = 662
max_iters = 50 * epoch_iters
warmup_iters = 10 * epoch_iters
# Mean colour in BGR order (the pipeline's images are BGR).
img_pad_val = (103.53, 116.28, 123.675)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        type='CDSPHead',
        loss_segc=dict(type='LabelSmoothCrossEntropyLoss', epsilon=0.1),
        loss_ds=dict(type='DistanceEntropyLoss', loss_name='loss_ds'),
        loss_dc=dict(type='DistanceEntropyLoss', loss_name='loss_dc'),
        loss_lorm=dict(type='LoRMLoss'),
        lorm=dict(mask_mode='key', chunk_size=1024),
        lorm_in_index=3,
        lorm_in_channels=2048),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(310, 310)))
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='CDSPDistanceMaps', lam_s=1.0, lam_c=6.0),
    dict(type='ScribbleRandomResize', scale=None, ratio_range=(0.5, 2.0)),
    dict(type='ScribbleRandomRotate', degree=10, img_pad_val=img_pad_val),
    dict(type='ScribbleGaussianBlur', kernel_size=5, sigma=1.1),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='ScribbleRandomCrop', crop_size=crop_size),
    dict(type='PackScribbleInputs'),
]
test_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadScribbleAnnotations', with_valid_mask=False),
    dict(type='PackScribbleInputs', check_alignment=False),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
tta_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=(round(512 * r), round(512 * r)),
                    keep_ratio=True) for r in img_ratios
            ],
            [dict(type='LoadScribbleAnnotations', with_valid_mask=False)],
            [dict(type='PackScribbleInputs', check_alignment=False)],
        ])
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_pseudo_seg='bmp_pseudolabel'),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        begin=0,
        end=warmup_iters,
        by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - warmup_iters,
        eta_min=0.0,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False)
]
# Every 10 epochs; the paper reports the last checkpoint.
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=6620)
default_hooks = dict(checkpoint=dict(interval=6620))
