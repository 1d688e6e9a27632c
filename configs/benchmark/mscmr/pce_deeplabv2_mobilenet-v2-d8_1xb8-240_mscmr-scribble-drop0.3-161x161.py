# MSCMR benchmark, partial CE on scribble-drop r = 0.3 of the real training
# scribbles (the labels of urss-drop0.3, written by the table tool when
# missing; docs/converters.md): the control of every method's drop0.3 row
# in the robustness section. Model and schedule: the partial-CE config.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_drop0.3')))
benchmark = dict(
    method='partial CE', labels='drop 0.3', baseline=False, control=None)
