# MSCMR benchmark, partial CE with mmseg's DeepLab optimizer (issue 25's
# recipe search: the optimizer): SGD, learning rate 0.01, momentum 0.9,
# weight decay 5e-4 (configs/_base_/schedules of mmseg), under the same
# warm-up and poly schedule, instead of the table's AdamW (1e-3, 1e-4).
# Everything else is the pce row's; pce is its control.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='SGD', lr=0.01, momentum=0.9,
        weight_decay=5e-4))
benchmark = dict(
    method='partial CE, SGD (mmseg DeepLab optimizer)',
    labels='scribbles',
    baseline=False,
    section='recipe',
    control='pce',
    cost=1.0)
