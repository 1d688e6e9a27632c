# MSCMR benchmark, URSS on scribble-drop r = 0.3 of the real training
# scribbles: every object (the scribbles of one class within 6 px of each
# other) loses all of them with probability 0.3 (seed 0; background
# scribbles are kept).
# tools/benchmark/mscmr_table.py writes the labels when missing; by hand:
#   python tools/dataset_converters/scribble_drop.py \
#       data/mscmr/ann_dir/train data/mscmr/ann_dir/train_drop0.3 --ratio 0.3
# (docs/converters.md). Model and schedule: the URSS config.
_base_ = './urss_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_drop0.3')))
benchmark = dict(method='URSS', labels='drop 0.3', baseline=False)
