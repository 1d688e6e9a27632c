# MSCMR benchmark, SPML stage 2 on the pseudo-labels of the stride-4 stage
# 1 (spml-s4-stage1; issue 25's SPML diagnosis): the spml row with only
# its pseudo-label source changed, so spml-s4 against spml is the effect
# of stage 1's output stride on what SPML delivers. Stage 2 is the pce
# row's network (stride 8), paired with pce.
_base_ = './spml_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
benchmark = dict(
    method='SPML, stage 1 at output stride 4 (stage 2 on its pseudo-labels)',
    labels='scribbles',
    baseline=False,
    section='variants',
    control='pce',
    pseudo_labels_of='spml-s4-stage1',
    pseudo_label_tool='spml',
    cost=4.5)
