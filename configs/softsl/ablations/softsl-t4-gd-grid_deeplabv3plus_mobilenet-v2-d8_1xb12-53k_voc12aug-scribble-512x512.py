# Soft self-labeling, Table 4 row: gradient descent on Eq. 4 (no pseudo-
# labels; lambda scales sum w P(sigma_i, sigma_j) / #pixels), nearest
# neighbours, P_BL (67.0). H = H_CCE, MobileNetV2 DeepLabV3+ as the base.
_base_ = '../softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(decode_head=dict(mode='gd', relaxation='bilinear'))
