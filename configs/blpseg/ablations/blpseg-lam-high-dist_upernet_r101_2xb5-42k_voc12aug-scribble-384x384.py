# BLPSeg ablation, Tab. III "High-level" + "Distance": LAM similarity from
# the decoder output with the distance kernel (sigma = 6). Paper: 54.30.
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(decode_head=dict(lam=dict(similarity='high')))
