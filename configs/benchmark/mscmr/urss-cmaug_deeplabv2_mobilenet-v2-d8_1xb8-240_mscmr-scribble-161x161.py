# MSCMR benchmark, URSS trained with the recipe's augmentation (issue 25):
# the urss row with the pce-cmaug row's pipeline (the CycleMix authors'
# random horizontal and vertical flips, a random quarter turn and a free
# rotation in 0-360 degrees, no scaling), SLICBoundaries right after
# loading as in the urss row, so every map, the SLIC boundaries included,
# turns with the image. Everything else is the urss row's; its control is
# pce-cmaug, partial CE with the same augmentation, so the paired
# difference is URSS's own effect on the recipe.
_base_ = './urss_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='SLICBoundaries', n_segments=300),
    dict(type='ScribbleRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ScribbleRandomFlip', prob=0.5, direction='vertical'),
    dict(type='ScribbleRandomRot90', prob=0.75),
    dict(type='ScribbleRandomRotate', prob=1.0, degree=180, img_pad_val=0),
    dict(type='ScribbleRandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
benchmark = dict(
    method='URSS, CycleMix augmentation',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce-cmaug',
    cost=1.3)
