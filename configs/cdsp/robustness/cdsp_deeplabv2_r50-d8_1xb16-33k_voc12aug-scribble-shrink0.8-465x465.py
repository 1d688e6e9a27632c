# CDSP on scribble-shrink, r = 0.8 (Fig. 7): every scribble is shrunk by ratio 0.8 (1.0: a point).
# Make the labels with
#   python tools/dataset_converters/scribble_shrink.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_shrink0.8 --ratio 0.8
# The pseudo-labels stay BMP's (made from the full scribbles' tags, as far
# as the paper says); the scribble distance map d_s follows the shrink
# labels (computed online). Model and schedule: the ResNet-50 DeepLabV2
# config (the paper does not say which segmentor Fig. 7 uses).
_base_ = '../cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_shrink0.8')))
