# CDSP on scribble-drop, r = 0.3 (Fig. 7): every object loses all of its scribbles with probability 0.3.
# Make the labels with
#   python tools/dataset_converters/scribble_drop.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_drop0.3 --ratio 0.3
# The pseudo-labels stay BMP's (made from the full scribbles' tags, as far
# as the paper says); the scribble distance map d_s follows the drop
# labels (computed online). Model and schedule: the ResNet-50 DeepLabV2
# config (the paper does not say which segmentor Fig. 7 uses).
_base_ = '../cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_drop0.3')))
