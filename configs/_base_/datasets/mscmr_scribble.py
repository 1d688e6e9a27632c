# MSCMRseg late-gadolinium-enhanced cardiac MR (Zhuang, TPAMI 2019) with
# the expert scribbles of CycleMix (Zhang & Zhuang, CVPR 2022), as 2-D
# slices written by tools/dataset_converters/mscmr.py:
#   python tools/dataset_converters/mscmr.py ../shared/data/mscmr data/mscmr
# 212x212 slices at 1.367 mm; grayscale PNGs, replicated to 3 channels by
# LoadScribbleImageFromFile. Train: 25 volumes (382 slices) of scribbles
# (0 bg, 1 RV, 2 Myo, 3 LV, 255 unlabeled); val: 5 volumes (75 slices) of
# dense masks.
#
# Evaluation: mIoU / mDice over all slices (IoUMetric, percent) and the
# published protocol, Dice per structure per 3-D volume on the original
# voxel grid, averaged over volumes (VolumeDiceMetric, keys vol/Dice_RV,
# vol/Dice_Myo, vol/Dice_LV, vol/mDice3D, in [0, 1]). Any split of this
# layout is scored with one override, e.g. for tools/test.py:
#   --cfg-options test_dataloader.dataset.ann_file=splits/X.txt \
#       test_dataloader.dataset.data_prefix.img_path=img_dir/X \
#       test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/X
# (val_dataloader.dataset.* likewise for validation during training).
# The split file must list whole volumes, and VolumeDiceMetric compares
# with the label NIfTI named in meta.json, i.e. dense masks for val.
dataset_type = 'ScribbleDataset'
data_root = 'data/mscmr'
metainfo = dict(
    classes=('background', 'RV', 'Myo', 'LV'),
    palette=[[0, 0, 0], [0, 114, 178], [230, 159, 0], [204, 121, 167]])
# A 161-pixel side gives 21 feature cells at output stride 8 with
# 161 = 8 * (21 - 1) + 1, so URSS's flipped view maps exactly onto
# flipped features.
crop_size = (161, 161)
# Slices are already at one spacing (1.367 mm), so the scale jitter is
# mild. The heart's short-axis section (under 12 cm) sits near the centre
# of the 212x212 slice (29 cm), so most 161x161 crops (22 cm) hold it
# whole. Rotation stays within the range of patient positioning; rotated-in
# corners are 0 (air) in the image and unlabeled in the maps. Horizontal
# flips mirror the RV / LV layout; the classes stay separable by shape (the
# RV crescent vs the LV blood pool ringed by the myocardium).
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='ScribbleRandomResize', scale=None, ratio_range=(0.8, 1.25)),
    dict(type='ScribbleRandomRotate', prob=0.5, degree=15, img_pad_val=0),
    dict(type='ScribbleRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ScribbleRandomCrop', crop_size=crop_size),
    dict(type='PackScribbleInputs'),
]
test_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations', with_valid_mask=False),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        metainfo=metainfo,
        data_root=data_root,
        ann_file='splits/train.txt',
        img_suffix='.png',
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        metainfo=metainfo,
        data_root=data_root,
        ann_file='splits/val.txt',
        img_suffix='.png',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
    dict(
        type='VolumeDiceMetric',
        meta_file=data_root + '/meta.json',
        nifti_root='../shared/data/mscmr'),
]
test_evaluator = val_evaluator
