# Soft self-labeling ablation, the H x P grid beyond the printed tables: H =
# reverse cross-entropy (Eq. 10), P = collision divergence (Tables 1-2), on
# the MobileNetV2 DeepLabV3+ of the base; the base itself is H_CCE + P_CD.
_base_ = '../softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_voc12aug-scribble-512x512.py'
model = dict(
    decode_head=dict(
        loss_self_label=dict(cross_entropy='reverse'),
        relaxation='collision_divergence'))
