# BLPSeg ablation, Tab. IV: LAM distance kernel sigma = 3 (the full
# method uses 6), local window 2 * ceil(3 sigma) + 1.
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(decode_head=dict(lam=dict(sigma=3.0)))
