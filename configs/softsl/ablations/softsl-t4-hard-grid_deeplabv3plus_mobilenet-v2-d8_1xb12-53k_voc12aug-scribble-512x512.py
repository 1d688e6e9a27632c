# Soft self-labeling, Table 4 row: hard self-labeling: the solver's y
# rounded to one-hot (a relaxed solver, not the graph cut of [29]), nearest
# neighbours, P_BL, the tight relaxation (69.6 with [29]). H = H_CCE,
# MobileNetV2 DeepLabV3+ as the base.
_base_ = '../softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(decode_head=dict(mode='hard', relaxation='bilinear'))
