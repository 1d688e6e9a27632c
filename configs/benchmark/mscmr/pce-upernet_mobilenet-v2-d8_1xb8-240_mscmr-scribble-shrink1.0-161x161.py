# MSCMR benchmark, partial CE on BLPSeg's decoder (the pce-upernet row)
# on scribble-shrink 1.0 of the real training scribbles (the labels of
# pce-shrink1.0, written by the table tool when missing; docs/converters.md):
# the control of blpseg-shrink1.0 in the robustness section, as pce-upernet is
# blpseg's in the main one.
_base_ = './pce-upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_shrink1.0')))
benchmark = dict(
    method='partial CE, BLPSeg decoder',
    labels='shrink 1.0',
    baseline=False,
    control=None)
