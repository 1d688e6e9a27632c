# MSCMR benchmark, control row: partial CE on BLPSeg's decoder. The
# BLPSeg row with its method taken out (no LAM, the partial-CE loss of the
# baseline instead of the BLP loss, no self-training), so the table
# separates what BLPSeg's decoder (UPerNet over four MobileNetV2 levels,
# logits at stride 4) gives from what the method gives. The scribble head
# still trains, on its detached input: it cannot change the segmentation,
# and the parameter count and data path stay BLPSeg's.
_base_ = './blpseg_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(
    decode_head=dict(
        use_lam=False,
        loss_decode=dict(
            _delete_=True, type='PartialCrossEntropyLoss', loss_weight=1.0)))
# A control itself: no control of its own (BLPSeg's control='pce-upernet'
# would otherwise be inherited).
benchmark = dict(
    method='partial CE, BLPSeg decoder',
    labels='scribbles',
    baseline=False,
    control=None,
    cost=1.4)
