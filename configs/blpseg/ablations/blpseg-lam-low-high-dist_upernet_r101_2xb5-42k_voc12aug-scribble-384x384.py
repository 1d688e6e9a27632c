# BLPSeg ablation, Tab. III all three: P_low * P_high * P_dis, i.e. the
# image embedding and the decoder output concatenated as similarity
# features, with the distance kernel. Paper: 73.28 mIoU.
_base_ = '../blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-384x384.py'
model = dict(decode_head=dict(lam=dict(similarity='both')))
