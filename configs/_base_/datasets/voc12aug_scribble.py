# PASCAL VOC 2012 + SBD with ScribbleSup scribbles. Layout: see
# VOCScribbleDataset; ImageSets/SegmentationAug/train.txt is the 10,582-image
# train_aug list, val.txt the 1,449 val images. Retarget with
# --cfg-options train_dataloader.dataset.data_root=DIR
#               val_dataloader.dataset.data_root=DIR
dataset_type = 'VOCScribbleDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (512, 512)
# Rotation fills the image with the dataset mean (BGR), which normalizes
# to ~0, the value the data preprocessor pads with.
img_pad_val = (104, 116, 124)
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(
        type='ScribbleRandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='ScribbleRandomCrop', crop_size=crop_size),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackScribbleInputs'),
]
test_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadScribbleAnnotations', with_valid_mask=False),
    dict(type='PackScribbleInputs', check_alignment=False),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadScribbleAnnotations', with_valid_mask=False)],
            [dict(type='PackScribbleInputs', check_alignment=False)],
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/SegmentationAug/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='pascal_2012_scribble'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/SegmentationAug/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
