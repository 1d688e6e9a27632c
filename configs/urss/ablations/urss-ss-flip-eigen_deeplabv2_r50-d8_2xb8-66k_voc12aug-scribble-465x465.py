# URSS ablation (Tab. 2): self-supervision on the eigenspace of P (Eq. 9)
# with view 'flip'. Two phases as the full method (the _base_,
# which is the 'random' + eigenspace cell of the table).
_base_ = '../urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
model = dict(decode_head=dict(view='flip'))
