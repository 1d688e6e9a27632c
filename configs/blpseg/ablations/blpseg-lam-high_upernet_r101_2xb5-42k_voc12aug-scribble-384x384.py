# BLPSeg ablation, Tab. III "High-level" only: LAM similarity from the
# decoder output (256 channels at 1/4 resolution) instead of the image
# embedding, no distance kernel (dense form). Paper: 56.04 mIoU.
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(
    decode_head=dict(
        lam=dict(similarity='high', use_distance=False, mode='dense')))
