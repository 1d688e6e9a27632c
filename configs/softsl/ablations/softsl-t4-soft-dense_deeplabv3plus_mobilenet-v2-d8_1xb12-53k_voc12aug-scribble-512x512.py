# Soft self-labeling, Table 4 row: soft self-labeling, dense neighbourhood,
# P_Q (67.9). H = H_CCE, MobileNetV2 DeepLabV3+ as the base.
_base_ = '../softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(
    decode_head=dict(
        mode='soft',
        relaxation='quadratic',
        # Every pair of a 64x64 grid (1/8 of the 512 crop), spatial
        # bandwidth 100 image pixels (the paper's), colour bandwidth 9.
        neighbourhood=dict(
            _delete_=True, type='dense', bandwidth=9.0, spatial_sigma=100.0),
        solve_scale=0.125))
