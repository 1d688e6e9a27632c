# MSCMR benchmark, partial CE with the augmentation of the CycleMix
# authors' MSCMR code (issue 25's recipe search): random horizontal and
# vertical flips, a random quarter turn and a free rotation in 0-360
# degrees, no scaling and no intensity change; the 161x161 crops of the
# table's network are kept. The baseline (pce) instead scales by
# 0.8-1.25, rotates within +-15 degrees and flips horizontally. Everything
# else is the pce row's; pce is its control.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='ScribbleRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ScribbleRandomFlip', prob=0.5, direction='vertical'),
    dict(type='ScribbleRandomRot90', prob=0.75),
    # degree=180: a uniform angle in [-180, 180]; corners rotated in are 0
    # (air) in the image and unlabeled in the scribbles.
    dict(type='ScribbleRandomRotate', prob=1.0, degree=180, img_pad_val=0),
    dict(type='ScribbleRandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
benchmark = dict(
    method='partial CE, CycleMix augmentation',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce',
    cost=1.0)
