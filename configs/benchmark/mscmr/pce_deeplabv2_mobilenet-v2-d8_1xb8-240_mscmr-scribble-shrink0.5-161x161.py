# MSCMR benchmark, partial CE on scribble-shrink r = 0.5 of the real
# training scribbles (the labels of urss-shrink0.5, written by the table
# tool when missing; docs/converters.md): the control of every method's
# shrink0.5 row in the robustness section. Model and schedule: the
# partial-CE config.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_shrink0.5')))
benchmark = dict(
    method='partial CE', labels='shrink 0.5', baseline=False, control=None)
