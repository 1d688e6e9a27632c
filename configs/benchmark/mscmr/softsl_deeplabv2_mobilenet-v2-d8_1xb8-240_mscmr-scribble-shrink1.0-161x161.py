# MSCMR benchmark, soft self-labeling on scribble-shrink 1.0 of the real
# training scribbles (tools/benchmark/mscmr_table.py writes the labels when
# missing; by hand: tools/dataset_converters/scribble_shrink.py, see
# docs/converters.md). Model and schedule: the softsl config; control:
# pce-shrink1.0, partial CE on the same labels.
_base_ = './softsl_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_shrink1.0')))
benchmark = dict(
    method='soft self-labeling',
    labels='shrink 1.0',
    baseline=False,
    control='pce')
