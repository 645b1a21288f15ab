"""ResNet-18/34 (He et al. 2016) of torchvision's ``BasicBlock`` structure, without torchvision.

torchvision is not a dependency of relutopo (its wheels do not match our CPU torch), so this
module defines the same architecture with torchvision's module and ``state_dict`` names
(``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1`` ... ``layer4`` of :class:`BasicBlock`
with ``conv1, bn1, relu, conv2, bn2, downsample``, ``avgpool``, ``fc``). It is the residual
network the slice benchmarks and the engine-slices chapter cut along segments between images
(32 x 32 inputs give 16 x 16 after ``conv1``, 8 x 8 after ``maxpool``). Without weights it is a
seeded random initialisation following torchvision's scheme (untrained).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn

__all__ = ["BasicBlock", "BasicResNet", "resnet18", "RESNET18_LAYERS"]

#: Blocks per stage of ResNet-18.
RESNET18_LAYERS = (2, 2, 2, 2)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: 3x3 conv -> BN -> ReLU -> 3x3 conv -> BN, plus the (possibly
    downsampled) input, then ReLU; one ``relu`` module applied twice.

    Examples
    --------
    >>> import torch
    >>> BasicBlock(4, 4).eval()(torch.zeros(1, 4, 6, 6)).shape
    torch.Size([1, 4, 6, 6])
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class BasicResNet(nn.Module):
    """A ResNet of :class:`BasicBlock` stages with torchvision's names (ResNet-18: ``(2, 2, 2, 2)``).

    Examples
    --------
    A ResNet-18-style network, one block per stage, on a small image:

    >>> import torch
    >>> model = BasicResNet(layers=(1, 1, 1, 1), num_classes=10).eval()
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 10])
    """

    def __init__(self, layers=RESNET18_LAYERS, num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        layers = tuple(int(n) for n in layers)
        if len(layers) != 4 or any(n < 1 for n in layers):
            raise ValueError(f"layers must be 4 positive block counts; got {layers}")
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        self.inplanes = 64
        self.conv1 = nn.Conv2d(int(in_channels), 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, int(num_classes))

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes))
        mods = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        mods.extend(BasicBlock(planes, planes) for _ in range(1, blocks))
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 1000, seed: int = 0, in_channels: int = 3) -> BasicResNet:
    """ResNet-18 in evaluation mode with torchvision's initialisation scheme, seeded (untrained).

    Convolutions: Kaiming normal (``fan_out``, ReLU gain); BatchNorm: weight 1, bias 0, running
    statistics (0, 1); ``fc``: U(-1/sqrt(512), 1/sqrt(512)).

    Examples
    --------
    >>> m = resnet18(num_classes=10, seed=0)
    >>> m(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 10])
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {seed!r}")
    model = BasicResNet(RESNET18_LAYERS, num_classes=num_classes, in_channels=in_channels)
    gen = torch.Generator().manual_seed(seed)
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
    return model.eval()
