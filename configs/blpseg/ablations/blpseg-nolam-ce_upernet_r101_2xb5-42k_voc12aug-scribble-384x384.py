# BLPSeg ablation, Tab. I row 1 (baseline): no LAM, partial cross-entropy
# instead of the BLP loss (the scribble head is still trained, unused).
# Self-training from iteration 10000 as in every ablation (Tab. III-IV
# captions: itr_SELF = 10k). Paper: 72.64 mIoU (mean of 3).
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(
    decode_head=dict(
        use_lam=False,
        loss_decode=dict(_delete_=True, type='PartialCrossEntropyLoss')))
