# Upper-bound reference for the demo: the same model trained on the dense
# masks instead of the scribbles.
_base_ = './pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/full')))
