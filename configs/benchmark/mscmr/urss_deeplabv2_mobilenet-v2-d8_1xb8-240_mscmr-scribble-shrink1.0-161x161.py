# MSCMR benchmark, URSS on scribble-shrink r = 1.0 of the real training
# scribbles: every scribble keeps the central (1 - r) of the longest path
# of its skeleton, at full width (r = 1: its middle pixel only).
# tools/benchmark/mscmr_table.py writes the labels when missing; by hand:
#   python tools/dataset_converters/scribble_shrink.py \
#       data/mscmr/ann_dir/train data/mscmr/ann_dir/train_shrink1.0 --ratio 1.0
# (docs/converters.md). Model and schedule: the URSS config.
_base_ = './urss_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_shrink1.0')))
benchmark = dict(method='URSS', labels='shrink 1.0', baseline=False)
