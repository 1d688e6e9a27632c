# BLPSeg ablation, Tab. III "Distance" only: LAM with P_dis (sigma = 6) and
# no feature similarity, a fixed Gaussian blur of the logits.
# Paper: 64.44 mIoU.
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(decode_head=dict(lam=dict(similarity='none')))
