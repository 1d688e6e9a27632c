# SPML Table 6 row: lambda_I = 0.1, lambda_O = 0.5, lambda_A = 0.1
# (paper mIoU in configs/spml/README.md).
# Concentrations as Table 5; lambda_C = 1. Everything else as the
# R101 config. kappa_A = 12 as Table 5's DensePose row (the only one
# that uses the feature affinity).
_base_ = '../spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py'
model = dict(
    decode_head=dict(
        loss_image=dict(loss_weight=0.1),
        loss_cooccurrence=dict(loss_weight=0.5),
        loss_affinity=dict(
            _delete_=True,
            type='SegSortLoss',
            kappa=12.0,
            loss_weight=0.1,
            loss_name='loss_spml_aff')))
