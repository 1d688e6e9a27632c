# SPML Table 6 row: lambda_I = 0.1, lambda_O = 0.1, lambda_A = 0
# (paper mIoU in configs/spml/README.md).
# Concentrations as Table 5; lambda_C = 1. Everything else as the
# R101 config.
_base_ = '../spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py'
model = dict(
    decode_head=dict(
        loss_image=dict(loss_weight=0.1),
        loss_cooccurrence=dict(loss_weight=0.1)))
