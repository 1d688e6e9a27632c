# Soft self-labeling, Table 3's scribble length ratio 0 (H_CCE +
# P_CD): every scribble shortened by 1.0 of its length (1.0: one point
# per scribble), the scribble-shrink variant made by
#   python tools/dataset_converters/scribble_shrink.py \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble \
#       data/VOCdevkit/VOC2012/pascal_2012_scribble_shrink1.0 1.0
# Another relaxation at this length: --cfg-options
#   model.decode_head.relaxation=quadratic
_base_ = '../softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_voc12aug-scribble-512x512.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='pascal_2012_scribble_shrink1.0')))
