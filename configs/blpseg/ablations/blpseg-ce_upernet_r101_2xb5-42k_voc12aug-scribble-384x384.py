# BLPSeg ablation, Tab. I row 2 / Tab. II "CE": LAM with partial
# cross-entropy instead of the BLP loss. Paper: 74.02 mIoU (mean of 3).
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(_delete_=True, type='PartialCrossEntropyLoss')))
