# MSCMR benchmark, SPML stage 1 at output stride 4 (issue 25's SPML
# diagnosis): the spml-stage1 row with its embedding on MobileNetV2's
# stride-4 features (24 channels, 41x41 cells per 161x161 crop) instead of
# the stride-8 ones (32 channels, 21x21), the paper's output stride. At
# stride 8 the myocardium, a ring about one cell wide, is lost in stage 1
# (classifier Myo Dice 0.26, pseudo-label Myo IoU 16; docs/spml.md): this
# row tells whether the resolution is the cause. Everything else (4
# k-means clusters, Felzenszwalb 300 / 0.8 / 50, concentrations, memory)
# is spml-stage1's. A step costs ~5.5x a pce step in float32
# (docs/spml.md, "Speed"). No control, as spml-stage1.
_base_ = './spml-stage1_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(decode_head=dict(in_channels=[24, 320], in_index=[0, 3]))
benchmark = dict(
    method='SPML stage 1 at output stride 4 (classifier on the embedding)',
    labels='scribbles',
    baseline=False,
    section='variants',
    control=None,
    cost=4.0)
