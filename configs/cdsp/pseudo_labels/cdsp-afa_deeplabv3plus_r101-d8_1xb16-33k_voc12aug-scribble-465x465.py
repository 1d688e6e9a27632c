# CDSP, Table 3 row "AFA (Ru et al., CVPR 2022)": the DeepLabV3+ r101 config (the _base_)
# trained on AFA's pseudo-labels instead of BMP's (paper: base accuracy
# 66.0 mIoU of the pseudo-labels, 73.3 mIoU val). Only the pseudo-label
# folder changes: put AFA's PNGs (class ids, VOC's 21 classes, one per
# training image) in <data_root>/afa_pseudolabel; the distance map of
# the pseudo-label (d_c) is computed online from them. Score the folder
# first with tools/dataset_converters/pseudo_label_miou.py (Tab. 3's "base
# acc"). Not trained here (no GPU was lent).
_base_ = '../cdsp_deeplabv3plus_r101-d8_1xb16-33k_voc12aug-scribble-465x465.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(gt_pseudo_seg='afa_pseudolabel')))
