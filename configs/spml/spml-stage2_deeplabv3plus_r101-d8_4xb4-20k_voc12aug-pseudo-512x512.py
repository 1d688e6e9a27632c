# SPML stage 2 (Algorithm 1, steps 5-7): a standard segmentor trained on
# the stage-1 pseudo-labels. Write them with
#   python tools/spml_pseudo_labels.py \
#       configs/spml/spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py \
#       work_dirs/spml_stage1/iter_30000.pth \
#       data/VOCdevkit/VOC2012/spml_pseudo_labels
# or run both stages with tools/spml_two_stage.sh. The paper trains a
# second softmax classifier S2 on the fixed embedding instead; as the
# issue asks, this config trains the baseline's DeepLabV3+ on ResNet-101
# (its schedule: 20k iterations at batch 16) on the dense pseudo-labels.
_base_ = ('../baseline/'
          'pce_deeplabv3plus_r101-d8_4xb4-20k_voc12aug-scribble-512x512.py')
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='spml_pseudo_labels')))
