# SPML Table 7, 0% scribble length: every scribble is one point
# (0% of its length) (scribble-shrink r = 1.0). Make the labels with
#   python tools/dataset_converters/scribble_shrink.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_shrink1.0 \
#       --ratio 1.0
# (docs/converters.md). 100% is the R101 config itself.
# Points: Table 5's "VOC points" row, lambda_I = 1 (kappa 16),
# lambda_O = 1 (kappa 8); the paper does not say which row Table 7
# used at 0%.
_base_ = '../spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_shrink1.0')))
model = dict(
    decode_head=dict(
        loss_image=dict(loss_weight=1.0),
        loss_cooccurrence=dict(kappa=8.0, loss_weight=1.0)))
