# MSCMR benchmark, BLPSeg on scribble-shrink 1.0 of the real training
# scribbles (tools/benchmark/mscmr_table.py writes the labels when
# missing; by hand: tools/dataset_converters/scribble_shrink.py, see
# docs/converters.md). Model and schedule: the blpseg config (no
# self-training, as the main row); control: pce-upernet-shrink1.0, partial CE on
# the same decoder and labels.
_base_ = './blpseg_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_shrink1.0')))
benchmark = dict(
    method='BLPSeg',
    labels='shrink 1.0',
    baseline=False,
    control='pce-upernet')
