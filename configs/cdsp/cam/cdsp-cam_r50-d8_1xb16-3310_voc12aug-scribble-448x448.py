# CDSP's class-driven stage (Eq. 4-6), which the authors never released: a
# multi-label classifier on ResNet-50-V1c (output stride 8, the backbone of
# the segmentation configs) trained on the image-level classes of the
# scribbles (GAP + FC, binary cross-entropy; CDSPCAMHead), whose CAMs are
# thresholded into pseudo-labels.
#
# Schedule (not in the paper, which gives none; the usual CAM recipe):
# 5 epochs at batch 16 (5 * 662 = 3310 iterations), SGD lr 0.01 (x10 for
# the classifier), momentum 0.9, weight decay 1e-4, poly decay; scale
# 0.5-2, flip, 448x448 crops.
#
# Pseudo-labels for the segmentation configs: the classifier's CAMs on the
# training images, each tagged class max-normalised, background where no
# normalised CAM exceeds 0.25 (decode_head.threshold), scribbles kept:
#   python tools/dataset_converters/segmentor_pseudo_labels.py \
#       configs/cdsp/cam/cdsp-cam_r50-d8_1xb16-3310_voc12aug-scribble-448x448.py \
#       work_dirs/cdsp-cam/iter_3310.pth \
#       data/VOCdevkit/VOC2012/cam_pseudolabel --scribble-override
# then train CDSP with data_prefix.gt_pseudo_seg=cam_pseudolabel, and
# score them with tools/dataset_converters/pseudo_label_miou.py.
_base_ = [
    '../../_base_/models/deeplabv2_r50-d8.py',
    '../../_base_/datasets/voc12aug_scribble.py',
    '../../_base_/default_runtime.py',
    '../../_base_/schedules/iter_based_hooks.py'
]
crop_size = (448, 448)
max_iters = 3310
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _delete_=True,
        type='CDSPCAMHead',
        in_channels=2048,
        in_index=3,
        num_classes=21,
        threshold=0.25,
        align_corners=False),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='ScribbleRandomResize', scale=None, ratio_range=(0.5, 2.0)),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='ScribbleRandomCrop', crop_size=crop_size),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackScribbleInputs'),
]
# Pseudo-labels are written at the image's own size; the scribbles are
# loaded for the tags (and the optional override).
test_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations', with_valid_mask=False),
    dict(type='PackScribbleInputs', check_alignment=False),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
# Validation scores the CAM pseudo-labels of val images (tags from their
# dense ground truth) against that ground truth: the "base acc" of Tab. 3.
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}),
    clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
