# URSS on scribble-drop, r = 0.1 (Fig. 6a): every object loses all of its
# scribbles with probability 0.1. Make the labels with
#   python tools/dataset_converters/scribble_drop.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_drop0.1 --ratio 0.1
# (see docs/converters.md). Model and schedule: the ResNet-50 config.
_base_ = '../urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_drop0.1')))
