# CDSP Tab. 2 row 8 (73.51): L_seg + L_ds + L_lorm.
# Row 10 (all terms, 73.91) is the main R50 DeepLabV2 config (the _base_).
_base_ = '../cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py'
model = dict(decode_head=dict(loss_dc=None))
