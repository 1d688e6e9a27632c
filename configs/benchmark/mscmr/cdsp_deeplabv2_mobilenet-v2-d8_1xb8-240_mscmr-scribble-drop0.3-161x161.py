# MSCMR benchmark, CDSP on scribble-drop 0.3 of the real training
# scribbles (tools/benchmark/mscmr_table.py writes the labels when missing;
# by hand: tools/dataset_converters/scribble_drop.py, see
# docs/converters.md). Model and schedule: the cdsp config; its
# class-driven pseudo-labels come from the checkpoint of pce-drop0.3 (partial
# CE on the same degraded labels, also its control), as the cdsp row's come
# from pce.
_base_ = './cdsp_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='ann_dir/train_drop0.3')))
benchmark = dict(
    method='CDSP',
    labels='drop 0.3',
    baseline=False,
    control='pce',
    pseudo_labels_of='pce-drop0.3')
