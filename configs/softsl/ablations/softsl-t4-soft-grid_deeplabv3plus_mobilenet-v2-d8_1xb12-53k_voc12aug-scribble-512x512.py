# Soft self-labeling, Table 4 row: soft self-labeling, nearest neighbours,
# P_Q (71.1); the same run as softsl-cce-q. H = H_CCE, MobileNetV2
# DeepLabV3+ as the base.
_base_ = '../softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(decode_head=dict(mode='soft', relaxation='quadratic'))
