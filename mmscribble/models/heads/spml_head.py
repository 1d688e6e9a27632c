# Copyright (c) mmscribble contributors. All rights reserved.
"""SPML's embedding head (Ke et al., ICLR 2021): pixel-to-segment
contrastive learning of a unit-norm embedding, plus the softmax classifier
trained on the detached embedding."""
from collections import deque
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ...utils.validation import check_class_ids, grouped_option
from ..layers.spherical_kmeans import spherical_kmeans
from ..losses.segsort_loss import segment_logits
from ..utils.feature_mask import infer_feature_stride
from ..utils.spml_segments import (all_gather_segments, segment_prototypes,
                                   spml_relation_groups, spml_relations,
                                   split_segments)
from .scribble_head import BaseScribbleHead

# Head argument -> relation of Eq. 4 (spml_relations).
RELATIONS = (('loss_semantic', 'semantic'), ('loss_image', 'image'),
             ('loss_cooccurrence', 'cooccurrence'), ('loss_affinity',
                                                     'affinity'))


@dataclass(frozen=True)
class KMeansCfg:
    """The spherical k-means options of :class:`SPMLHead`, checked.

    Built by the head from ``num_clusters``, ``kmeans_iterations`` and
    ``coord_weight``; stored as int, int and float. A bad value raises a
    ``ValueError`` that names the head's argument.

    Args:
        num_clusters (int): clusters per image, >= 1.
        iterations (int): k-means iterations, >= 0.
        coord_weight (float): scale of the coordinates.
    """
    num_clusters: int = 36
    iterations: int = 10
    coord_weight: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, 'num_clusters', int(self.num_clusters))
        object.__setattr__(self, 'iterations', int(self.iterations))
        object.__setattr__(self, 'coord_weight', float(self.coord_weight))
        if self.num_clusters < 1:
            raise ValueError(
                f'num_clusters must be >= 1, got {self.num_clusters}')
        if self.iterations < 0:
            raise ValueError(
                f'kmeans_iterations must be >= 0, got {self.iterations}')


@MODELS.register_module()
class SPMLHead(BaseScribbleHead):
    """Pixel-wise metric learning head of SPML (Sec. 3, Eq. 4).

    Embedding (A.4: "unit-length normalized embedding of dimension 64"
    on DeepLab; the layers are not described), two forms (``embedding``):

    - ``'aspp_direct'``, the authors' network (``ResnetDeeplab``): an
      ASPP-sum (DeepLab v2: parallel dilated 3x3 convolutions with bias,
      no BN, no ReLU, summed) from the last backbone stage straight to
      ``embed_dims`` channels, upsampled x2 (bilinear: output stride 8 ->
      4). The stride-4 input is not read.
    - ``'aspp_fuse'``: an ASPP-sum to ``channels`` with BN on the last
      stage, upsampled to the stride-4 stage and fused with it, then a
      1x1 convolution to ``embed_dims`` (DeepLabV3+-like; the MSCMR
      benchmark rows were trained with it).

    Both end in L2 normalisation. The classifier (``conv_seg``, 1x1) reads the
    *detached* embedding, as the authors' code and A.4 ("we do not
    propagate gradients to the segmentation CNN from the softmax
    classifier"), and is trained by ``loss_decode`` (partial CE on the
    scribbles); its logits are the head's prediction.

    Training, per batch: spherical k-means of every image on
    ``[embedding, coordinates]`` (:func:`spherical_kmeans`), clusters
    split by scribble label ("unlabeled" is a label of its own; padding
    is left out) and by ``gt_superpixel`` (:func:`split_segments`),
    segment prototypes (gradient flows through them), the segments of
    the previous ``memory_batches`` batches (detached, A.4: 2), and the
    four SegSort+ losses of Eq. 4 (:class:`SegSortLoss`):
    ``loss_semantic`` (``C``), ``loss_image`` (``V``, needs
    ``gt_superpixel``), ``loss_cooccurrence`` (``O``, image tags across
    the batch and memory) and ``loss_affinity`` (``C-hat``). A loss set
    to None or with ``loss_weight`` 0 is not computed.

    Semantic context (``O``): the paper defines it as "the union of
    object classes in each image" and separates "images without any
    overlapping object categories", so the tags of ``O`` leave out
    ``context_ignore_classes`` (the background). With the background in
    them every image with a background scribble (each of MSCMR's 382
    training slices) shares a tag with every other, every segment is a
    positive and ``O`` is exactly 0. An image with no object tag shares
    no context: its positives are its own segments only.

    Memory: the losses hold ``(P, S)`` logits and masks, ``P`` the
    positions of the batch at stride 4 and ``S`` the segments of the batch
    and memory (about 12 * 128^2 x 4000 for the paper's VOC setting, 3 GB
    per float32 matrix).

    Args:
        embed_dims (int): embedding dimension. Default: 64.
        embedding (str): ``'aspp_direct'`` (the authors') or
            ``'aspp_fuse'`` (see above). Default: ``'aspp_fuse'``, so that
            configs written before the option build the same network.
        dilations (Sequence[int]): ASPP-sum rates. Default: (6, 12, 18, 24).
        low_level_channels (int): channels the stride-4 features are
            reduced to before fusion (``'aspp_fuse'`` only). Default: 48.
        num_clusters (int): k-means clusters per image. Default: 36.
        kmeans_iterations (int): Default: 10.
        coord_weight (float): scale of the coordinates in k-means.
            Default: 1.0.
        memory_batches (int): batches kept in the memory bank (saved in
            and restored from the checkpoint under ``memory_bank.*``, so a
            resumed run contrasts with the bank it left). Default: 2.
        loss_semantic, loss_image, loss_cooccurrence, loss_affinity
            (dict, optional): ``SegSortLoss`` configs.
        unlabeled_as_class (bool): in ``C`` and ``C-hat``, "unlabeled" is
            one more class instead of ignored. Default: False (paper).
        context_ignore_classes (tuple[int]): class ids left out of
            the image tags of the co-occurrence relation ``O`` (and of
            the tags its memory bank keeps); ``()`` keeps every class.
            Only ``O`` reads them. Default: ``(0, )``, the background of
            VOC and MSCMR.
        loss_form (str): ``'grouped'`` (relations as segment groups,
            :func:`grouped_segsort_plus_loss`: no ``(P, S)`` masks) or
            ``'masked'`` (the ``(P, S)`` masks of :func:`spml_relations`,
            the reference). Same losses. Default: ``'grouped'``.
        gather_across_ranks (bool): in a distributed run, contrast with
            the segments of every rank's batch and keep them all in the
            memory bank, as the authors' code
            (``gather_clustering_and_update_prototypes``): at 4 GPUs x 3
            images a pixel sees 12 + 24 images' segments; False keeps each
            rank's own (3 + 6). Other ranks' prototypes carry no gradient
            (``all_gather``). No effect in one process. Default: True.
        **kwargs: ``BaseDecodeHead`` arguments; ``in_channels`` and
            ``in_index`` name the stride-4 and the last stage (in that
            order) with ``input_transform='multiple_select'``, in both
            forms, so that ``embedding`` alone switches them.
    """

    def __init__(self,
                 embed_dims: int = 64,
                 embedding: str = 'aspp_fuse',
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 low_level_channels: int = 48,
                 num_clusters: int = 36,
                 kmeans_iterations: int = 10,
                 coord_weight: float = 1.0,
                 memory_batches: int = 2,
                 loss_semantic: Optional[ConfigType] = dict(
                     type='SegSortLoss',
                     kappa=6.0,
                     loss_weight=1.0,
                     loss_name='loss_spml_sem'),
                 loss_image: Optional[ConfigType] = dict(
                     type='SegSortLoss',
                     kappa=16.0,
                     loss_weight=0.1,
                     loss_name='loss_spml_img'),
                 loss_cooccurrence: Optional[ConfigType] = dict(
                     type='SegSortLoss',
                     kappa=12.0,
                     loss_weight=0.5,
                     loss_name='loss_spml_occ'),
                 loss_affinity: Optional[ConfigType] = None,
                 unlabeled_as_class: bool = False,
                 context_ignore_classes: Sequence[int] = (0, ),
                 loss_form: str = 'grouped',
                 gather_across_ranks: bool = True,
                 **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(**kwargs)
        if self.input_transform != 'multiple_select' or \
                len(self.in_channels) != 2:
            raise ValueError(
                "SPMLHead needs input_transform='multiple_select' with two "
                'in_channels / in_index: the stride-4 stage and the last '
                f'stage, got in_channels={self.in_channels}')
        self.embed_dims = int(embed_dims)
        if embedding not in ('aspp_direct', 'aspp_fuse'):
            raise ValueError("embedding must be 'aspp_direct' or "
                             f"'aspp_fuse', got {embedding!r}")
        self.embedding = embedding
        if embedding == 'aspp_direct':
            self._build_direct_embedding(dilations)
        else:
            self._build_embedding(dilations, low_level_channels)
        self.kmeans_cfg = KMeansCfg(
            num_clusters=num_clusters,
            iterations=kmeans_iterations,
            coord_weight=coord_weight)
        self.unlabeled_as_class = bool(unlabeled_as_class)
        self.context_ignore_classes = check_class_ids('context_ignore_classes',
                                                      context_ignore_classes,
                                                      self.num_classes)
        keep = torch.ones(self.num_classes, dtype=torch.bool)
        ignore = torch.tensor(self.context_ignore_classes, dtype=torch.long)
        keep[ignore] = False
        self.register_buffer('context_classes', keep, persistent=False)
        if loss_form not in ('grouped', 'masked'):
            raise ValueError("loss_form must be 'grouped' or 'masked', got "
                             f'{loss_form!r}')
        self.loss_form = loss_form
        if int(memory_batches) < 0:
            raise ValueError(
                f'memory_batches must be >= 0, got {memory_batches}')
        self.memory = deque(maxlen=int(memory_batches))
        self.gather_across_ranks = bool(gather_across_ranks)
        taken = self.decode_loss_names()
        for arg, _ in RELATIONS:
            setattr(self, arg, self.build_aux_loss(locals()[arg], arg, taken))

    # The memory bank in the checkpoint: its batches concatenated, with the
    # segment count of each (the bank's size varies from batch to batch).
    _BANK = ('prototypes', 'labels', 'tags', 'counts')

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if not self.memory.maxlen:
            return
        mem = list(self.memory)
        dev = self.context_classes.device
        bank = (torch.cat([m[0].detach() for m in mem]) if mem else
                torch.zeros(0, self.embed_dims, device=dev),
                torch.cat([m[1] for m in mem]) if mem else torch.zeros(
                    0, dtype=torch.long, device=dev),
                torch.cat([m[2] for m in mem]) if mem else torch.zeros(
                    0, self.num_classes, dtype=torch.bool, device=dev),
                torch.tensor([m[0].shape[0] for m in mem],
                             dtype=torch.long, device=dev))
        for name, x in zip(self._BANK, bank):
            destination[f'{prefix}memory_bank.{name}'] = x

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Restore the memory bank saved by :meth:`_save_to_state_dict`; a
        checkpoint without one (saved before it was kept) leaves the bank
        empty."""
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
        keys = [f'{prefix}memory_bank.{name}' for name in self._BANK]
        for key in keys:
            if key in unexpected_keys:
                unexpected_keys.remove(key)
        if not all(k in state_dict for k in keys):
            return
        dev = self.context_classes.device
        proto, label, tags, counts = (state_dict[k].to(dev) for k in keys)
        self.memory.clear()
        for p, lab, t in zip(*(x.split(counts.tolist())
                               for x in (proto, label, tags))):
            self.memory.append((p, lab, t.bool()))

    def _apply(self, fn, *args, **kwargs):
        """Move (or cast) the memory bank with the module."""
        out = super()._apply(fn, *args, **kwargs)
        dev = self.context_classes.device
        for i, mem in enumerate(list(self.memory)):
            self.memory[i] = (fn(mem[0]), mem[1].to(dev), mem[2].to(dev))
        return out

    # The k-means arguments, read and set through ``kmeans_cfg``.
    num_clusters = grouped_option('kmeans_cfg', 'num_clusters')
    kmeans_iterations = grouped_option('kmeans_cfg', 'iterations')
    coord_weight = grouped_option('kmeans_cfg', 'coord_weight')

    def _build_direct_embedding(self, dilations: Sequence[int]) -> None:
        """The authors' ASPP-sum straight to ``embed_dims`` (conv + bias,
        no BN, no activation) and the classifier."""
        self.aspp = nn.ModuleList([
            ConvModule(
                self.in_channels[1],
                self.embed_dims,
                3,
                padding=d,
                dilation=d,
                conv_cfg=self.conv_cfg,
                norm_cfg=None,
                act_cfg=None) for d in dilations
        ])
        self.conv_seg = nn.Conv2d(self.embed_dims, self.out_channels, 1)

    def _build_embedding(self, dilations: Sequence[int],
                         low_level_channels: int) -> None:
        """The ASPP-sum, the stride-4 fusion, the embedding and the
        classifier layers of ``'aspp_fuse'`` (see the class docstring)."""
        low_ch, high_ch = self.in_channels
        self.aspp = nn.ModuleList([
            ConvModule(
                high_ch,
                self.channels,
                3,
                padding=d,
                dilation=d,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=None) for d in dilations
        ])
        self.low_proj = ConvModule(
            low_ch,
            low_level_channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.fuse = ConvModule(
            self.channels + low_level_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.embed = nn.Conv2d(self.channels, self.embed_dims, 1)
        self.conv_seg = nn.Conv2d(self.embed_dims, self.out_channels, 1)

    def forward_embedding(self,
                          inputs: Tuple[Tensor]) -> Tuple[Tensor, Tensor]:
        """Embedding and classifier logits.

        Args:
            inputs (tuple[Tensor]): backbone features.

        Returns:
            tuple[Tensor]: the ``(N, embed_dims, h, w)`` unit embedding
            (``'aspp_fuse'``: the stride-4 input's size; ``'aspp_direct'``:
            twice the last stage's, stride 4 on an output-stride-8
            backbone) and the ``(N, K, h, w)`` logits of the classifier on
            the detached embedding.
        """
        low, high = self._transform_inputs(inputs)
        x = self.aspp[0](high)
        for branch in self.aspp[1:]:
            x = x + branch(high)
        if self.embedding == 'aspp_direct':
            x = F.interpolate(
                x,
                scale_factor=2,
                mode='bilinear',
                align_corners=self.align_corners)
            emb = F.normalize(x, dim=1)
            return emb, self.cls_seg(emb.detach())
        x = F.relu(x)
        x = F.interpolate(
            x,
            size=low.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        x = self.fuse(torch.cat([x, self.low_proj(low)], 1))
        emb = F.normalize(self.embed(x), dim=1)
        return emb, self.cls_seg(emb.detach())

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        """Classifier logits ``(N, K, h, w)``, the prediction."""
        return self.forward_embedding(inputs)[1]

    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat=None) -> dict:
        emb, logits = self.forward_embedding(inputs)
        losses = self.loss_by_feat(logits, batch_data_samples)
        losses.update(self.embedding_losses(emb, batch_data_samples))
        return losses

    def _active(self):
        return [(arg, rel) for arg, rel in RELATIONS
                if getattr(self, arg) is not None
                and getattr(self, arg).loss_weight != 0]

    def _at_cells(self, x: Tensor, size) -> Tensor:
        s = infer_feature_stride(x.shape[-2:], size)
        return x[:, ::s, ::s]

    def _labels_at_cells(self, label: Tensor, size) -> Tensor:
        """A labeled class of each cell's ``s x s`` block (the smallest id
        when several), ``ignore_index`` when the block has none.

        Reading the label at the cell centres only would keep one in
        ``s^2`` of the single-pixel labels of the points setting (Table 7,
        0% length); a block centred on the cell centre keeps them all.
        """
        s = infer_feature_stride(label.shape[-2:], size)
        if s == 1:
            return label
        lab = torch.where(label == self.ignore_index,
                          torch.full_like(label, 1 << 20), label)
        pooled = -F.max_pool2d(
            -lab[:, None].float(), kernel_size=s, stride=s, padding=s // 2)
        pooled = pooled[:, 0, :size[0], :size[1]].long()
        return torch.where(pooled == 1 << 20,
                           torch.full_like(pooled, self.ignore_index), pooled)

    def context_tags(self, batch_data_samples: SampleList) -> Tensor:
        """``(N, num_classes)`` bool tags of the co-occurrence relation:
        ``metainfo['img_tags']`` without ``context_ignore_classes``."""
        device = self.context_classes.device
        tags = self.img_tags(batch_data_samples, self.num_classes, device)
        return tags.bool() & self.context_classes

    def gathers(self) -> bool:
        """Whether the segments are gathered across ranks this step:
        ``gather_across_ranks`` and an initialised process group of more
        than one rank."""
        return (self.gather_across_ranks and dist.is_available()
                and dist.is_initialized() and dist.get_world_size() > 1)

    def contrast_pool(self, proto: Tensor, label: Tensor, seg_tags: Tensor
                      ) -> Tuple[Tensor, Tensor, Tensor, tuple]:
        """The segments a pixel contrasts with: this batch's, then (when
        :meth:`gathers`) the other ranks', then the memory bank's.

        This rank's prototypes come first and keep their gradient (the
        pixels index them); the other ranks' are gathered without one
        (:func:`all_gather_segments`), as the authors' ``all_gather``.
        The memory entry of this batch holds every rank's segments in
        rank order, so all ranks keep the same bank.

        Args:
            proto (Tensor): ``(S, D)`` prototypes of this rank's batch.
            label (Tensor): ``(S, )`` their labels.
            seg_tags (Tensor): ``(S, K)`` bool context tags.

        Returns:
            tuple: ``(S_pool, D)`` prototypes, ``(S_pool, )`` labels,
            ``(S_pool, K)`` tags, and the ``(prototypes, labels, tags)``
            entry this batch adds to the memory bank.
        """
        protos, labels, tags = [proto], [label], [seg_tags]
        entry = (proto.detach(), label, seg_tags)
        if self.gathers():
            g_proto, g_label, g_tags, sizes = all_gather_segments(
                proto, label, seg_tags)
            g_proto = g_proto.to(proto.dtype)
            entry = (g_proto, g_label, g_tags)
            ends = sizes.cumsum(0).tolist()
            rank = dist.get_rank()
            start, end = ends[rank] - int(sizes[rank]), ends[rank]
            for x, out in ((g_proto, protos), (g_label, labels),
                           (g_tags, tags)):
                out.append(torch.cat([x[:start], x[end:]]))
        for mem in self.memory:
            for x, out in zip(mem, (protos, labels, tags)):
                out.append(x)
        return torch.cat(protos), torch.cat(labels), torch.cat(tags), entry

    def embedding_losses(self, emb: Tensor,
                         batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """The SegSort+ losses of Eq. 4 on a batch.

        Args:
            emb (Tensor): ``(N, D, h, w)`` unit embedding.
            batch_data_samples (list[SegDataSample]): with ``gt_sem_seg``,
                ``img_tags`` and, for ``loss_image``, ``gt_superpixel``.

        Returns:
            dict[str, Tensor]: one loss per active relation.
        """
        n, d, h, w = emb.shape
        active = self._active()
        unl = self.num_classes
        label = self.stack_map(batch_data_samples, 'gt_sem_seg').long()
        label = self._labels_at_cells(label, (h, w))
        label = torch.where((label < 0) | (label >= self.num_classes),
                            torch.full_like(label, unl), label)
        valid = self.feature_valid_mask(batch_data_samples, (h, w))
        if valid is None:
            valid = torch.ones_like(label, dtype=torch.bool)
        sp = None
        if any(rel == 'image' for _, rel in active):
            sp = self._at_cells(
                self.stack_map(batch_data_samples, 'gt_superpixel').long(),
                (h, w))
            valid = valid & (sp >= 0)
        clusters = spherical_kmeans(emb.detach(), self.num_clusters,
                                    self.kmeans_iterations, valid,
                                    self.coord_weight)
        segs = split_segments(clusters, label, sp)
        flat = emb.permute(0, 2, 3, 1).reshape(-1, d)
        proto = segment_prototypes(flat, segs.pixel_segment, segs.num_segments)
        tags = self.context_tags(batch_data_samples)
        all_proto, seg_label, seg_tags, new_memory = self.contrast_pool(
            proto, segs.label, tags[segs.image])
        num_mem = all_proto.shape[0] - proto.shape[0]
        fill = segs.image.new_full((num_mem, ), -1)
        seg_image = torch.cat([segs.image, fill])
        seg_sp = torch.cat([segs.superpixel, fill])
        pix_image = torch.arange(n, device=emb.device).repeat_interleave(h * w)
        pix_sp = (sp if sp is not None else torch.zeros_like(label)).flatten()
        build = spml_relation_groups if self.loss_form == 'grouped' \
            else spml_relations
        relations = build(
            segs.pixel_segment,
            pix_image,
            label.flatten(),
            pix_sp,
            seg_image,
            seg_label,
            seg_sp,
            seg_tags,
            tags,
            unl,
            relations=[rel for _, rel in active],
            prototypes=all_proto,
            unlabeled_as_class=self.unlabeled_as_class)
        cosine = segment_logits(flat, all_proto, 1.0)
        losses = {}
        for arg, rel in active:
            loss = getattr(self, arg)
            if self.loss_form == 'grouped':
                group, pos, cand, weight = relations[rel]
                losses[loss.loss_name] = loss.forward_grouped(
                    cosine,
                    group,
                    pos,
                    cand,
                    segs.pixel_segment,
                    weight=weight)
            else:
                pos, neg, weight = relations[rel]
                losses[loss.loss_name] = loss(
                    flat,
                    all_proto,
                    pos,
                    neg,
                    segs.pixel_segment,
                    weight=weight,
                    cosine=cosine)
        if self.memory.maxlen:
            self.memory.append(new_memory)
        return losses
