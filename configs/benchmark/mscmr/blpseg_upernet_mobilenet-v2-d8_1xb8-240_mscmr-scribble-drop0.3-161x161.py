# MSCMR benchmark, BLPSeg on scribble-drop 0.3 of the real training
# scribbles (tools/benchmark/mscmr_table.py writes the labels when
# missing; by hand: tools/dataset_converters/scribble_drop.py, see
# docs/converters.md). Model and schedule: the blpseg config (no
# self-training, as the main row); control: pce-upernet-drop0.3, partial CE on
# the same decoder and labels.
_base_ = './blpseg_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_drop0.3')))
benchmark = dict(
    method='BLPSeg',
    labels='drop 0.3',
    baseline=False,
    control='pce-upernet')
