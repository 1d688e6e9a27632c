# SPML (Ke et al., ICLR 2021), stage 1: the pixel embedding, on ScribbleSup
# / VOC 2012 aug with a dilated ResNet-50-V1c (output stride 8). The
# paper's model is ResNet-101
# (spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py), which only changes
# the backbone. See configs/spml/README.md.
#
# Embedding (A.4 gives only "DeepLab", a 64-d unit-length embedding; the
# layers are the authors' code, spml/models/embeddings/resnet_deeplab.py):
# DeepLabV2's ASPP-sum (rates 6, 12, 18, 24, 3x3 convolutions with bias,
# no BN, no ReLU) from the last stage (2048 channels) straight to 64
# channels, upsampled x2 (stride 8 -> 4), L2-normalised
# (embedding='aspp_direct'). Head at 10x the learning rate (lr_mult 10),
# stem and first stage frozen (frozen_stages=1): the authors' optimizer
# holds res3-res5 at 1x and the ASPP at 10x, never conv1 / res2. The
# other form (embedding='aspp_fuse': ASPP-sum to 256 channels with BN,
# fused with the stride-4 stage, 1x1 to 64) is kept for comparison; the
# MSCMR rows use it. See configs/spml/README.md.
# Segments (Sec. 3, A.4): 36 k-means clusters per image (10 iterations),
# split by scribble label and Felzenszwalb superpixels; memory bank of the
# previous 2 batches; a softmax classifier on the detached embedding
# (partial CE), whose logits are the stage-1 prediction.
# Losses (Eq. 4, Table 5 "VOC scribbles"): lambda_C = 1 (kappa 6),
# lambda_I = 0.1 (kappa 16), lambda_O = 0.5 (kappa 12), lambda_A = 0.
# Schedule (A.4): batch 12 (4 GPUs x 3), crop 512, 30k iterations, SGD
# lr 0.003, momentum 0.9, poly power 0.9. The weight decay is not stated
# in the paper; 5e-4 as the authors' script
# (bashscripts/voc12/train_spml_scribble.sh, WD=5e-4).
# Augmentation as the authors' (random scale, crop, mirror): no
# photometric distortion.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/voc12aug_scribble.py', '../_base_/default_runtime.py',
    '../_base_/schedules/iter_based_hooks.py'
]
crop_size = (512, 512)
max_iters = 30000
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(frozen_stages=1),
    decode_head=dict(
        _delete_=True,
        type='SPMLHead',
        in_channels=[256, 2048],
        in_index=[0, 3],
        input_transform='multiple_select',
        channels=256,
        embed_dims=64,
        embedding='aspp_direct',
        dilations=(6, 12, 18, 24),
        low_level_channels=48,
        num_clusters=36,
        kmeans_iterations=10,
        memory_batches=2,
        dropout_ratio=0.0,
        num_classes=21,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='PartialCrossEntropyLoss', loss_weight=1.0),
        loss_semantic=dict(
            type='SegSortLoss',
            kappa=6.0,
            loss_weight=1.0,
            loss_name='loss_spml_sem'),
        loss_image=dict(
            type='SegSortLoss',
            kappa=16.0,
            loss_weight=0.1,
            loss_name='loss_spml_img'),
        loss_cooccurrence=dict(
            type='SegSortLoss',
            kappa=12.0,
            loss_weight=0.5,
            loss_name='loss_spml_occ'),
        loss_affinity=None),
    auxiliary_head=None)
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    # Before any geometric transform; cached maps (data_prefix
    # gt_superpixel=...) are kept, see FelzenszwalbSuperpixels.
    dict(type='FelzenszwalbSuperpixels', scale=500.0, sigma=0.8,
         min_size=200),
    dict(
        type='ScribbleRandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='ScribbleRandomCrop', crop_size=crop_size),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(batch_size=3, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.003, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}),
    clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
default_hooks = dict(checkpoint=dict(interval=5000))
