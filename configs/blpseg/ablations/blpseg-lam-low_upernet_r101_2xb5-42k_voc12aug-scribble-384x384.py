# BLPSeg ablation, Tab. III "Low-level" only: LAM with P_low and no
# distance kernel, i.e. every pixel of the map is a key: the dense
# (hw x hw) form, as in the authors' code. Paper: 73.55 mIoU.
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(decode_head=dict(lam=dict(use_distance=False, mode='dense')))
