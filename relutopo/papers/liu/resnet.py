"""ResNet-50 (He et al. 2016, torchvision's "v1.5" variant) without torchvision.

Liu et al. (2023), Examples 4.3-4.5 and Appendix C, read the bit vectors of every ReLU of an
ImageNet-pretrained ResNet-50. torchvision is not a dependency of relutopo, and its weight
download needs the internet, so this module defines the same architecture with ``state_dict``
keys and shapes identical to ``torchvision.models.resnet50``: a user who has a torchvision
checkpoint (``resnet50-0676ba61.pth``, ``resnet50-11ad3fa6.pth``, ...) passes its path and gets
the paper's network. Without weights the network is a seeded random initialisation following
torchvision's scheme (Kaiming-normal convolutions, unit BatchNorm scales, zero BatchNorm shifts).

As in torchvision, each :class:`Bottleneck` applies *one* ``nn.ReLU`` module three times per
forward call; :func:`relutopo.hooks.activation_bits` records every call as its own set of bits.
"""

from __future__ import annotations

import math
import os
from typing import Optional

import torch
import torch.nn as nn

from relutopo.errors import RelutopoError

__all__ = ["ResNet", "Bottleneck", "resnet50", "load_state_dict_strict", "WeightsError",
           "RESNET50_LAYERS", "is_positively_homogeneous"]

#: Blocks per stage of ResNet-50.
RESNET50_LAYERS = (3, 4, 6, 3)


class WeightsError(RelutopoError, ValueError):
    """A weights file cannot be loaded into the model (unreadable, or keys/shapes do not match).

    Examples
    --------
    >>> load_state_dict_strict(Bottleneck(64, 16), "no/such/weights.pth")  # error expected
    Traceback (most recent call last):
        ...
    relutopo.papers.liu.resnet.WeightsError: weights_path='no/such/weights.pth' is not a ...
    """


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (stride on the 3x3 convolution): 1x1 -> 3x3 -> 1x1 + skip.

    ``relu`` is a single module called three times: after ``bn1``, after ``bn2`` and after the
    residual sum.

    Examples
    --------
    >>> import torch
    >>> block = Bottleneck(64, 16).eval()
    >>> block(torch.zeros(1, 64, 8, 8)).shape
    torch.Size([1, 64, 8, 8])
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None):
        super().__init__()
        width = planes
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)


class ResNet(nn.Module):
    """A ResNet of :class:`Bottleneck` blocks with torchvision's module names.

    Parameters
    ----------
    layers : tuple of 4 ints
        Blocks per stage; ``(3, 4, 6, 3)`` is ResNet-50.
    num_classes : int
        Width of the final fully connected layer ``fc`` (1000 for ImageNet).

    Examples
    --------
    A small ResNet of bottleneck blocks (one per stage) on a 32 x 32 image:

    >>> import torch
    >>> model = ResNet(layers=(1, 1, 1, 1), num_classes=10).eval()
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 10])
    """

    def __init__(self, layers=RESNET50_LAYERS, num_classes: int = 1000):
        super().__init__()
        layers = tuple(int(n) for n in layers)
        if len(layers) != 4 or any(n < 1 for n in layers):
            raise ValueError(f"layers must be 4 positive block counts; got {layers}")
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, int(num_classes))

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * Bottleneck.expansion, stride),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        mods = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        mods.extend(Bottleneck(self.inplanes, planes) for _ in range(1, blocks))
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _init_weights_(model: nn.Module, seed: int) -> None:
    """torchvision's initialisation, drawn from a generator seeded with ``seed``.

    Convolutions: Kaiming normal, ``fan_out`` mode, ReLU gain (std ``sqrt(2 / fan_out)``);
    BatchNorm: weight 1, bias 0, running statistics (0, 1); ``fc``: PyTorch's Linear default
    (weight and bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``).
    """
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
                m.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=gen)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.reset_running_stats()
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound, generator=gen)
                m.bias.uniform_(-bound, bound, generator=gen)


def load_state_dict_strict(model: nn.Module, weights_path) -> nn.Module:
    """Load a ``.pth`` file into ``model`` with strict key and shape checks.

    Accepts a plain ``state_dict`` or a checkpoint dict holding one under ``"state_dict"`` or
    ``"model"``; a ``"module."`` prefix (from ``DataParallel``) is removed. Raises
    :class:`WeightsError` naming the file and the missing / unexpected / mis-shaped keys.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import torch
    >>> model = Bottleneck(64, 16)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.pth"
    >>> torch.save({"state_dict": model.state_dict()}, path)
    >>> type(load_state_dict_strict(Bottleneck(64, 16), path)).__name__
    'Bottleneck'
    >>> try:
    ...     load_state_dict_strict(Bottleneck(64, 32), path)      # other shapes
    ... except WeightsError as exc:
    ...     print(type(exc).__name__)
    WeightsError
    """
    path = os.fspath(weights_path)
    if not os.path.isfile(path):
        raise WeightsError(
            f"weights_path={path!r} is not a file; pass the path of a torchvision ResNet-50 "
            "checkpoint such as resnet50-0676ba61.pth, or weights_path=None for a seeded random "
            "initialisation")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files
        raise WeightsError(
            f"cannot read weights_path={path!r} as a PyTorch state_dict ({type(exc).__name__}: "
            f"{exc}); it must be a file written by torch.save(model.state_dict(), path)") from None
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(
            f"weights_path={path!r} does not hold a state_dict (a dict of tensors); got "
            f"{type(obj).__name__}")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(obj))
    unexpected = sorted(set(obj) - set(expected))
    shapes = sorted(k for k in set(expected) & set(obj) if tuple(expected[k].shape) != tuple(obj[k].shape))
    if missing or unexpected or shapes:
        def head(keys):
            return ", ".join(keys[:5]) + (f" ... ({len(keys)} in all)" if len(keys) > 5 else "")
        parts = []
        if missing:
            parts.append(f"missing keys: {head(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {head(unexpected)}")
        if shapes:
            parts.append("shape mismatch: " + ", ".join(
                f"{k} {tuple(obj[k].shape)} vs expected {tuple(expected[k].shape)}" for k in shapes[:5]))
        raise WeightsError(
            f"weights_path={path!r} does not match torchvision's resnet50 state_dict ("
            + "; ".join(parts) + "). Use a checkpoint of torchvision.models.resnet50.")
    model.load_state_dict(obj, strict=True)
    return model


def resnet50(weights_path=None, seed: int = 0, num_classes: int = 1000) -> ResNet:
    """ResNet-50 in evaluation mode, keys identical to ``torchvision.models.resnet50()``.

    Parameters
    ----------
    weights_path : path, optional
        A torchvision ResNet-50 checkpoint (``.pth``); loaded with strict key and shape checks.
        ``None``: the seeded random initialisation of torchvision's scheme (an *untrained*
        network; say so on every figure that uses it).
    seed : int
        Seed of the random initialisation (ignored when weights are loaded).
    num_classes : int
        Output classes (1000 for ImageNet checkpoints).

    Returns
    -------
    ResNet
        In ``eval()`` mode (BatchNorm uses running statistics, so a point's bits do not depend
        on the other images of its batch).

    Examples
    --------
    The ResNet-50 of Liu et al. Ex. 4.3-4.5 (seeded weights here; pass ``weights_path`` for the
    pretrained ones):

    >>> model = resnet50(seed=0)
    >>> sum(p.numel() for p in model.parameters())
    25557032
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {seed!r}")
    model = ResNet(RESNET50_LAYERS, num_classes=num_classes)
    _init_weights_(model, seed)
    if weights_path is not None:
        load_state_dict_strict(model, weights_path)
    return model.eval()


def is_positively_homogeneous(model: nn.Module) -> bool:
    """Whether every ReLU input of ``model`` (in ``eval()`` mode) is a positively homogeneous
    function of the image: ``pre(c x) = c pre(x)`` for every ``c > 0``.

    True when no convolution or hidden linear layer has a bias and every BatchNorm has zero
    shift (``bias``) and zero running mean, so that each one multiplies by a constant; max- and
    average-pooling and ReLU are positively homogeneous. The untrained torchvision-style network
    of :func:`resnet50` is such a network: its bit vectors then depend only on the *direction*
    of the input, ``bits(c x) == bits(x)``, so scaling an image (or the radius of Liu et al.'s
    circle ``sin(t) A_1 + cos(t) A_2``) changes nothing. A pretrained checkpoint is not.

    Examples
    --------
    >>> is_positively_homogeneous(resnet50(seed=0))
    True
    """
    if model.training:
        raise ValueError("is_positively_homogeneous inspects a model in eval() mode (BatchNorm with "
                         "running statistics); call model.eval() first")
    last_linear = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last_linear = m
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.bias is not None and bool(m.bias.detach().abs().max() > 0):
            return False
        if isinstance(m, nn.Linear) and m is not last_linear and m.bias is not None \
                and bool(m.bias.detach().abs().max() > 0):
            return False
        if isinstance(m, nn.BatchNorm2d):
            if m.bias is not None and bool(m.bias.detach().abs().max() > 0):
                return False
            if m.running_mean is not None and bool(m.running_mean.abs().max() > 0):
                return False
    return True
