# Copyright (c) mmscribble contributors. All rights reserved.
"""SPML's softmax classifier fitted on the fixed, learned embedding.

The paper (A.4, "Inference and testing"): "We fix the learned pixel-wise
embedding and train an additional softmax classifier for inference."
``SPMLHead`` also trains its classifier (``conv_seg``) during stage 1, on
the detached embedding, as the authors' code. On MSCMR at 1920 iterations
that classifier did not follow the embedding: it called 98.6% of the val
pixels background (LV recall 0.2%) and fitted its own training scribbles
no better, while the same frozen embedding with a classifier fitted on
the training scribbles reached LV recall 0.91 (docs/spml.md). These
functions fit that classifier: the embedding at every scribbled pixel of
the training images (whole images, no augmentation, as the pseudo-label
step reads them), then a multinomial logistic regression on it.

The classifier is a 1x1 convolution and the prediction upsamples its
logits bilinearly, which is linear, so ``W e(x) + b`` with ``e(x)`` the
embedding upsampled to pixel ``x`` is exactly the logit the model
predicts there: the fit minimizes the same partial cross-entropy as
stage 1's classifier loss, over the whole training set at once.
"""
from typing import Dict, Iterable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# The stage-1 training images, loaded whole: no augmentation (A.4); the
# pseudo-label step (tools/spml_pseudo_labels.py) reads them the same way.
WHOLE_IMAGE_PIPELINE = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations', with_valid_mask=False),
    dict(type='PackScribbleInputs', check_alignment=False),
]


def whole_training_images(cfg):
    """The config's ``train`` split with :data:`WHOLE_IMAGE_PIPELINE`, as
    the refit and the pseudo-label step read it."""
    from mmscribble.datasets.split_builder import build_split_dataset
    return build_split_dataset(cfg, 'train', pipeline=WHOLE_IMAGE_PIPELINE)


def load_spml_stage1(config: str,
                     checkpoint: str,
                     device: str,
                     cfg_options=None):
    """An SPML stage-1 segmentor (eval mode) and its whole training images.

    Returns:
        tuple: the model (:func:`~mmscribble.apis.inference.load_segmentor`
        with an ``SPMLHead`` required) and :func:`whole_training_images` of
        the config with ``cfg_options`` merged.
    """
    from mmengine.config import Config

    from mmscribble.apis.inference import load_segmentor
    from mmscribble.models.heads.spml_head import SPMLHead
    model = load_segmentor(
        config, checkpoint, device, cfg_options, head_type=SPMLHead)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return model, whole_training_images(cfg)


@torch.no_grad()
def labeled_embeddings(
        model,
        item: dict,
        num_classes: int,
        max_pixels: Optional[int] = None,
        generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """The upsampled embedding at the labeled pixels of one dataset item.

    Args:
        model: A segmentor whose ``decode_head`` has ``forward_embedding``
            (``SPMLHead``), in the mode it should be read in (eval).
        item (dict): A dataset item (``inputs``, ``data_samples``) with
            ``gt_sem_seg`` at the image's size (``ori_shape``).
        num_classes (int): Labels outside ``[0, num_classes)`` (ignore)
            are left out.
        max_pixels (int, optional): Keep at most this many labeled pixels,
            drawn uniformly without replacement. Default: all.
        generator (torch.Generator, optional): For that draw.

    Returns:
        tuple[Tensor, Tensor]: ``(P, D)`` float32 embeddings on the CPU
        and their ``(P, )`` long labels.
    """
    from mmengine.dataset import pseudo_collate
    data = model.data_preprocessor(pseudo_collate([item]), False)
    sample = data['data_samples'][0]
    h, w = sample.metainfo['ori_shape'][:2]
    label = sample.gt_sem_seg.data[0, :h, :w].long().cpu()
    keep = (label >= 0) & (label < num_classes)
    idx = keep.flatten().nonzero()[:, 0]
    if max_pixels is not None and idx.numel() > max_pixels:
        idx = idx[torch.randperm(
            idx.numel(), generator=generator)[:max_pixels]].sort().values
    emb, _ = model.decode_head.forward_embedding(
        model.extract_feat(data['inputs']))
    emb = F.interpolate(
        emb.float(),
        size=data['inputs'].shape[-2:],
        mode='bilinear',
        align_corners=model.decode_head.align_corners)[0, :, :h, :w]
    feat = emb.reshape(emb.shape[0], -1).t().cpu()
    return feat[idx], label.flatten()[idx]


def classifier_loss(feat: Tensor, label: Tensor, weight: Tensor, bias: Tensor,
                    weight_decay: float) -> Tensor:
    """Mean cross-entropy of ``feat @ weight.T + bias`` plus
    ``weight_decay / 2 * ||weight||^2`` (the bias is not decayed)."""
    loss = F.cross_entropy(feat @ weight.t() + bias, label)
    return loss + 0.5 * weight_decay * weight.pow(2).sum()


def fit_linear_classifier(feat: Tensor,
                          label: Tensor,
                          weight: Tensor,
                          bias: Tensor,
                          weight_decay: float = 1e-4,
                          max_iter: int = 300) -> Tuple[Tensor, Tensor]:
    """Multinomial logistic regression by full-batch L-BFGS.

    With ``weight_decay > 0`` the objective (:func:`classifier_loss`) is
    strictly convex in the weight, so the fit is its minimizer however the
    start ``(weight, bias)`` was chosen; without it, separable labels have
    no minimizer and the weights grow until ``max_iter``.

    Args:
        feat (Tensor): ``(P, D)`` features.
        label (Tensor): ``(P, )`` long class ids in ``[0, K)``.
        weight (Tensor): ``(K, D)`` start.
        bias (Tensor): ``(K, )`` start.
        weight_decay (float): L2 coefficient on the weight. Default: 1e-4.
        max_iter (int): L-BFGS iterations. Default: 300.

    Returns:
        tuple[Tensor, Tensor]: the fitted ``(K, D)`` weight and ``(K, )``
        bias (float32, detached, on ``feat``'s device). With no pixel
        (``P == 0``) the start, unchanged.
    """
    if feat.ndim != 2 or label.shape != feat.shape[:1]:
        raise ValueError('fit_linear_classifier: feat must be (P, D) and '
                         f'label (P, ), got {tuple(feat.shape)} and '
                         f'{tuple(label.shape)}')
    if weight_decay < 0:
        raise ValueError(f'weight_decay must be >= 0, got {weight_decay}')
    w = weight.detach().float().to(feat.device).clone().requires_grad_()
    b = bias.detach().float().to(feat.device).clone().requires_grad_()
    if feat.shape[0] == 0:
        return w.detach(), b.detach()
    if label.min() < 0 or label.max() >= w.shape[0]:
        raise ValueError(f'labels must lie in [0, {w.shape[0]}), got '
                         f'{int(label.min())}..{int(label.max())}')
    feat = feat.float()
    opt = torch.optim.LBFGS([w, b],
                            max_iter=max_iter,
                            tolerance_grad=1e-9,
                            tolerance_change=1e-12,
                            history_size=20,
                            line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = classifier_loss(feat, label, w, b, weight_decay)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach(), b.detach()


def refit_spml_classifier(model,
                          items: Iterable[dict],
                          pixels_per_image: Optional[int] = None,
                          weight_decay: float = 1e-4,
                          max_iter: int = 300,
                          seed: int = 0,
                          gather=None) -> Dict[str, float]:
    """Fit ``model.decode_head.conv_seg`` on the fixed embedding.

    The model is read in eval mode (as it predicts) and put back in the
    mode it was in; only ``conv_seg``'s weight and bias change.

    Args:
        model: A segmentor with an ``SPMLHead`` (unwrapped).
        items (Iterable[dict]): Dataset items of the training images
            (:data:`WHOLE_IMAGE_PIPELINE`).
        pixels_per_image (int, optional): At most this many labeled pixels
            per image (a uniform draw). Default: all.
        weight_decay, max_iter: see :func:`fit_linear_classifier`.
        seed (int): Seed of the per-image draw. Default: 0.
        gather (callable, optional): ``gather((feat, label)) -> list`` of
            every process's pair, in rank order (a distributed run);
            default: this process's alone.

    Returns:
        dict: ``pixels`` fitted on, the classifier loss (without the
        decay) and the accuracy on them before and after.
    """
    head = model.decode_head
    if not hasattr(head, 'forward_embedding') or \
            not hasattr(head, 'conv_seg'):
        raise TypeError('refit_spml_classifier needs a decode head with '
                        'forward_embedding and conv_seg (SPMLHead), got '
                        f'{type(head).__name__}')
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    feats, labels = [], []
    try:
        device_type = next(model.parameters()).device.type
        with torch.autocast(device_type=device_type, enabled=False):
            for item in items:
                f, lab = labeled_embeddings(model, item, head.num_classes,
                                            pixels_per_image, gen)
                feats.append(f)
                labels.append(lab)
    finally:
        model.train(was_training)
    dim = head.conv_seg.weight.shape[1]
    pair = (torch.cat(feats) if feats else torch.zeros(0, dim),
            torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long))
    if gather is not None:
        pairs = gather(pair)
        pair = (torch.cat([p[0]
                           for p in pairs]), torch.cat([p[1] for p in pairs]))
    feat, label = pair
    conv = head.conv_seg
    # Copies: the fit is written into the parameters below.
    w0 = conv.weight.detach()[:, :, 0, 0].float().cpu().clone()
    b0 = conv.bias.detach().float().cpu().clone()
    w, b = fit_linear_classifier(feat, label, w0, b0, weight_decay, max_iter)
    with torch.no_grad():
        conv.weight.copy_(w.reshape(conv.weight.shape).to(conv.weight))
        conv.bias.copy_(b.to(conv.bias))

    def stats(weight, bias):
        if feat.shape[0] == 0:
            return float('nan'), float('nan')
        logits = feat @ weight.t() + bias
        return (F.cross_entropy(logits, label).item(),
                (logits.argmax(1) == label).float().mean().item())

    loss0, acc0 = stats(w0, b0)
    loss1, acc1 = stats(w, b)
    return dict(
        pixels=float(feat.shape[0]),
        loss_before=loss0,
        acc_before=acc0,
        loss_after=loss1,
        acc_after=acc1)
