# BLPSeg ablation: BLP loss without LAM (Tab. I "BLP only", reported in
# Tab. III row 1, no similarity and no distance: 73.21 mIoU).
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(decode_head=dict(use_lam=False))
