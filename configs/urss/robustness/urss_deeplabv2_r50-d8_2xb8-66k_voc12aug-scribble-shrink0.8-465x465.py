# URSS on scribble-shrink, r = 0.8 (Fig. 6b): every scribble keeps
# the central 20% of its length. Make the labels with
#   python tools/dataset_converters/scribble_shrink.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_shrink0.8 \
#       --ratio 0.8
# (docs/converters.md); r = 0 is the original scribbles, i.e. the
# _base_. Model and schedule: the ResNet-50 config.
_base_ = '../urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_shrink0.8')))
