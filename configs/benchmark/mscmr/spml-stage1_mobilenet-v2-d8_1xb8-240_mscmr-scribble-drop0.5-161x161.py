# MSCMR benchmark, SPML stage 1 (pixel embedding and its classifier) on
# scribble-drop 0.5 of the real training scribbles (the labels of
# pce-drop0.5, written by the table tool when missing; docs/converters.md).
# Model and schedule: the spml-stage1 config. Its checkpoint writes the
# pseudo-labels of spml-drop0.5; the random walk restricts each slice to the
# classes of these degraded scribbles.
_base_ = './spml-stage1_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_drop0.5')))
benchmark = dict(
    method='SPML stage 1 (classifier on the embedding)',
    labels='drop 0.5',
    baseline=False,
    control=None)
