_base_ = './urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
