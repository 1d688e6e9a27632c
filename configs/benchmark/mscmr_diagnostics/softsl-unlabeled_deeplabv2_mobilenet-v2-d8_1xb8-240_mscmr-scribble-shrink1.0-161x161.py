# Diagnostic (issue 15): softsl-shrink1.0 with the self-labeling term
# averaged over the unscribbled pixels (self_label_denominator=
# 'unlabeled') instead of divided by the scribble count (Eq. 8's
# proportion, the row's setting). On one-pixel strokes the scribble count
# is ~6 per slice, so Eq. 8's proportion weighs the unscribbled term
# thousands of times the scribble term; the mean keeps the two terms of
# the same order whatever the scribble density. Checkpoints every 60
# iterations as softsl-trace.
_base_ = ('./softsl-trace_deeplabv2_mobilenet-v2-d8_1xb8-240_'
          'mscmr-scribble-shrink1.0-161x161.py')
model = dict(decode_head=dict(self_label_denominator='unlabeled'))
benchmark = dict(
    method="soft self-labeling, term averaged over the unscribbled pixels",
    labels='shrink 1.0',
    baseline=False,
    control='pce')
