# MSCMR benchmark, SPML (Ke et al., ICLR 2021) stage 2 (Algorithm 1): the
# partial CE row's network, schedule and seed (the _base_) trained on the
# dense pseudo-labels of the stage-1 row
# (spml-stage1_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py) instead
# of the scribbles: its classifier's scores restricted to each slice's
# scribble classes, 64 random-walk steps on its embedding affinity, argmax.
# The paper trains a second classifier on the fixed embedding instead; a
# standard segmentor on the pseudo-labels (as the VOC stage-2 config) makes
# partial CE on the same network (the pce row) this row's control.
#
# tools/benchmark/mscmr_table.py trains the spml-stage1 row of the same
# seed first, writes its pseudo-labels with tools/spml_pseudo_labels.py
# into this run's folder (benchmark.pseudo_labels_of, pseudo_label_tool)
# and reads them as seg_map_path; this row's train time in the table counts
# the stage-1 training, the pseudo-label step and this training. Trained
# on its own, it reads <data_root>/pseudo_label/spml, written by
#   python tools/spml_pseudo_labels.py \
#       configs/benchmark/mscmr/spml-stage1_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \
#       <stage-1 work dir>/iter_240.pth <data_root>/pseudo_label/spml \
#       --cfg-options train_dataloader.dataset.data_root=<data_root>
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='pseudo_label/spml')))
benchmark = dict(
    method='SPML (stage 2 on stage-1 pseudo-labels)',
    labels='scribbles',
    baseline=False,
    control='pce',
    pseudo_labels_of='spml-stage1',
    pseudo_label_tool='spml',
    cost=1.5)
