"""A small residual CNN for 28 x 28 digits: convolution, BatchNorm, max-pool and a residual block.

The network whose exact regions and decision boundary the engine-slices chapter draws on the
plane through three MNIST digits (:func:`relutopo.decompose` with a
:class:`relutopo.slices.Plane`). Layers::

    AvgPool2d(2)                                   28x28 -> 14x14 (affine)
    Conv2d(1, w, 3, stride=2, padding=1), BatchNorm2d(w), ReLU    w x 7 x 7 neurons
    MaxPool2d(2, ceil_mode=True)                   -> w x 4 x 4 (winner per window)
    residual block (conv-BN-ReLU-conv-BN + identity, ReLU)        2 x w x 4 x 4 neurons
    Flatten, Linear(16 w, n_classes)

(sizes for the defaults ``down=2, stride=2``). Every module is piecewise linear, so the network
is exactly decomposable on any slice. The number of regions on a plane grows with the square of
the number of first-layer neurons whose lines cross it, hence the early downsampling.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["ResidualBlock", "ResidualCNN", "residual_cnn"]


class ResidualBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)`` with 3x3 convolutions, width preserved.

    Examples
    --------
    >>> import torch
    >>> ResidualBlock(4).eval()(torch.zeros(2, 4, 7, 7)).shape
    torch.Size([2, 4, 7, 7])
    """

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class ResidualCNN(nn.Module):
    """See the module docstring; ``width`` channels, ``n_classes`` outputs.

    Examples
    --------
    >>> import torch
    >>> model = ResidualCNN(width=4).eval()
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self, width: int = 8, n_classes: int = 10, in_channels: int = 1, size: int = 28,
                 down: int = 2, stride: int = 2):
        super().__init__()
        if min(int(width), int(n_classes), int(down), int(stride)) < 1 or int(size) < 4 * down * stride:
            raise ValueError(f"width, n_classes, down and stride must be >= 1 and size >= "
                             f"4 down stride; got width={width}, n_classes={n_classes}, size={size}, "
                             f"down={down}, stride={stride}")
        w = int(width)
        self.down = nn.AvgPool2d(int(down))
        self.conv = nn.Conv2d(int(in_channels), w, 3, stride=int(stride), padding=1)
        self.bn = nn.BatchNorm2d(w)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.block = ResidualBlock(w)
        self.flatten = nn.Flatten()
        n = int(size) // int(down)
        n = (n - 1) // int(stride) + 1      # conv, padding 1, kernel 3
        n = -(-n // 2)                      # max-pool 2, ceil mode
        self.fc = nn.Linear(w * n * n, int(n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.bn(self.conv(self.down(x)))))
        return self.fc(self.flatten(self.block(x)))


def residual_cnn(width: int = 8, n_classes: int = 10, seed: int = 0, in_channels: int = 1,
                 size: int = 28, down: int = 2, stride: int = 2) -> ResidualCNN:
    """A :class:`ResidualCNN` initialised from ``torch.manual_seed``-independent seeded draws
    (PyTorch's default scheme under a ``torch.Generator`` seeded with ``seed``).

    Examples
    --------
    >>> residual_cnn(seed=0)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {seed!r}")
    model = ResidualCNN(width, n_classes, in_channels, size, down, stride)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                bound = 1.0 / fan_in ** 0.5
                m.weight.uniform_(-bound, bound, generator=gen)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=gen)
    return model
