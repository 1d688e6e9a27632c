# SPML Table 7, 50% scribble length: every scribble keeps the central
# 50% of its length (scribble-shrink r = 0.5). Make the labels with
#   python tools/dataset_converters/scribble_shrink.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_shrink0.5 \
#       --ratio 0.5
# (docs/converters.md). 100% is the R101 config itself.
_base_ = '../spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_shrink0.5')))
