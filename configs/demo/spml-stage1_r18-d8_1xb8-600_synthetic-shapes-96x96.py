# SPML stage 1 on the README demo's synthetic shapes (issue 25's SPML
# diagnosis): does the method work where its premises hold? Each image
# has 1-3 objects whose class fixes shape and texture, so the image tags
# (the classes in its scribbles) are informative and the objects are many
# embedding cells wide: the opposite of MSCMR, where every slice has the
# same tags and the myocardium is one cell wide.
# The demo's network (half-width dilated ResNet-18, output stride 8,
# 12x12 cells per 96x96 crop), input, batch, optimizer, schedule and seed
# (the _base_, pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py);
# the head is SPMLHead with the MSCMR stage 1's settings scaled to these
# images: the ASPP-sum on the last stage (the demo's rates 1-6) fused with
# the first stride-8 stage (64 channels), 4 k-means clusters per image
# (VOC's 36 per 512x512 crop scaled by area is ~1.3), Felzenszwalb scale
# 300, sigma 0.8, min size 20: a median of 21 regions per image, 97% of
# pixels in a region's majority class (20 training images).
# Stage 2: the demo's pce config on the pseudo-labels this model writes
# (tools/spml_pseudo_labels.py; commands in docs/spml.md).
_base_ = './pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='SPMLHead',
        in_channels=[64, 256],
        in_index=[1, 3],
        input_transform='multiple_select',
        channels=128,
        embed_dims=64,
        dilations=(1, 2, 4, 6),
        low_level_channels=48,
        num_clusters=4,
        kmeans_iterations=10,
        memory_batches=2,
        dropout_ratio=0.0,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='PartialCrossEntropyLoss', loss_weight=1.0)))
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    # Before any geometric transform (see FelzenszwalbSuperpixels).
    dict(type='FelzenszwalbSuperpixels', scale=300.0, sigma=0.8, min_size=20),
    dict(type='ScribbleRandomResize', ratio_range=(0.75, 1.25)),
    dict(type='ScribbleRandomRotate', prob=0.5, degree=10),
    dict(type='ScribbleRandomCrop', crop_size=(96, 96)),
    dict(type='ScribbleRandomFlip', prob=0.5),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# S1 fitted on the fixed embedding after the last iteration (A.4), as the
# MSCMR stage-1 config (docs/spml.md); the validation at the end of
# training scores the fitted classifier.
custom_hooks = [dict(type='SPMLClassifierRefitHook')]
