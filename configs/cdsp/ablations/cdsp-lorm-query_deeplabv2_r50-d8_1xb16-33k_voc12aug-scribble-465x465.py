# CDSP with the LoRM masked as in the authors' code: the affinity rows of
# background queries are zeroed, so F-hat = 0 at every background position
# and Eq. 13 pulls background features to 0 (the default, the paper's
# text, masks the keys: every position is rectified from foreground ones).
_base_ = '../cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py'
model = dict(decode_head=dict(lorm=dict(mask_mode='query')))
