"""Code of the engine-slices chapter (not a paper: a demonstration of the engine's reach).

- ``residual_cnn``: the small CNN (convolution, BatchNorm, max-pool, a residual block) whose
  exact regions and decision boundary the chapter draws on a plane through three digits.
- ``basic_resnet``: ResNet-18 of torchvision's BasicBlock structure, cut along segments between
  images.
"""
