# URSS ablation (Tab. 2): self-supervision on f^L (Eq. 7, squared error)
# with view 'flip'. Two phases as the full method (the _base_,
# which is the 'random' + eigenspace cell of the table).
_base_ = '../urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
# Eq. 7 has its own loss and weight (loss_eigen is unused with a feature
# ss_on), raised to omega2 when the base config raises the eigenspace loss.
model = dict(
    decode_head=dict(
        ss_on='feat_after',
        view='flip',
        loss_eigen=None,
        loss_feat=dict(type='FeatureConsistencyLoss', loss_weight=0.0)))
custom_hooks = [
    dict(
        type='PhaseSwitchHook',
        phases=[
            dict(
                begin=_base_.phase_iters,
                set={'decode_head.loss_feat.loss_weight': _base_.omega2})
        ])
]
