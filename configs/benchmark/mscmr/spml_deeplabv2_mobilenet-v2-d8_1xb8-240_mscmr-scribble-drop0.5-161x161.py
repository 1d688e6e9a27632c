# MSCMR benchmark, SPML stage 2 on scribble-drop 0.5: the spml config
# trained on the pseudo-labels of spml-stage1-drop0.5 (stage 1 on the same
# degraded scribbles), which tools/benchmark/mscmr_table.py trains and
# labels first, as the spml row's come from spml-stage1. Control:
# pce-drop0.5, partial CE on the same network and labels.
_base_ = './spml_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
benchmark = dict(
    method='SPML (stage 2 on stage-1 pseudo-labels)',
    labels='drop 0.5',
    baseline=False,
    control='pce',
    pseudo_labels_of='spml-stage1-drop0.5',
    pseudo_label_tool='spml')
