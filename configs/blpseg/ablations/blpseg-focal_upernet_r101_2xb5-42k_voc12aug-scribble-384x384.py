# BLPSeg ablation, Tab. II "FL": LAM with a focal loss (gamma = 2, the
# original focal gradient) on the labeled pixels instead of the BLP loss.
# Paper: 72.92 mIoU (mean of 3).
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='PartialFocalLoss',
            gamma=2.0,
            detach_factor=False)))
