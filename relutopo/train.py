"""A seeded, deterministic training loop for small torch models (MLPs of the papers' experiments).

``fit`` trains any ``nn.Module`` on in-memory tensors with full control of the random state
(initialisation is the caller's, batching/shuffling uses ``seed``), and returns the trained model
with its history (loss and accuracy per epoch, optionally on a test set) and checkpoints.
``mlp`` builds the ``nn.Sequential`` of Linear/ReLU layers that :meth:`relutopo.nets.ReluNet.from_torch` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

__all__ = ["mlp", "fit", "History", "seeded_uniform_", "early_stopping", "INITS", "OPTIMIZER_IMPLS"]

#: Initialisation schemes of :func:`mlp`.
INITS = ("torch", "uniform", "normal", "glorot_uniform")
#: Optimiser implementations of :func:`fit` (``optimizer_impl``).
OPTIMIZER_IMPLS = ("default", "foreach", "fused")


def mlp(sizes: Sequence[int], *, seed: int, init: str = "torch", scale: float = 1.0):
    """``nn.Sequential`` ``Linear(sizes[0], sizes[1]), ReLU, ..., Linear(sizes[-2], sizes[-1])``.

    Parameters
    ----------
    sizes : sequence of int
        ``(input_dim, h_1, ..., h_L, output_dim)``, at least two entries, all positive.
    seed : int
        Seeds the initialisation.
    init : {"torch", "uniform", "normal", "glorot_uniform"}
        ``torch``: PyTorch's default (Kaiming-uniform); ``uniform``: weights and biases
        U(-scale, scale); ``normal``: N(0, scale^2); ``glorot_uniform``: TensorFlow/Keras's
        ``Dense`` default -- weights U(-l, l) with ``l = sqrt(6 / (fan_in + fan_out))`` (Glorot &
        Bengio 2010) and zero biases (``scale`` is ignored).

    Examples
    --------
    The Keras default used by Liu et al. (2023, Sec. 3.2) for model (12):

    >>> net = mlp((3, 10, 10, 10, 1), seed=0, init="glorot_uniform")
    >>> float(net[0].bias.detach().abs().max()), bool(net[0].weight.detach().abs().max() <= (6 / 13) ** 0.5)
    (0.0, True)
    """
    import torch
    import torch.nn as nn

    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise ValueError(f"sizes must be at least (input_dim, output_dim), all positive; got {sizes}")
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(repr(i) for i in INITS)}; got {init!r}")
    gen = torch.Generator().manual_seed(int(seed))
    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            if init == "torch":
                bound_w = 1.0 / np.sqrt(sizes[i])
                lin.weight.uniform_(-bound_w, bound_w, generator=gen)
                lin.bias.uniform_(-bound_w, bound_w, generator=gen)
            elif init == "glorot_uniform":
                limit = float(np.sqrt(6.0 / (sizes[i] + sizes[i + 1])))
                lin.weight.uniform_(-limit, limit, generator=gen)
                lin.bias.zero_()
            elif init == "uniform":
                seeded_uniform_(lin.weight, scale, gen)
                seeded_uniform_(lin.bias, scale, gen)
            else:
                lin.weight.normal_(0.0, scale, generator=gen)
                lin.bias.normal_(0.0, scale, generator=gen)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def seeded_uniform_(tensor, scale: float, generator) -> None:
    """Fill ``tensor`` in place with U(-scale, scale) draws from ``generator``.

    Examples
    --------
    The same generator seed gives the same draws:

    >>> import torch
    >>> a, b = torch.empty(3), torch.empty(3)
    >>> seeded_uniform_(a, 0.5, torch.Generator().manual_seed(0))
    >>> seeded_uniform_(b, 0.5, torch.Generator().manual_seed(0))
    >>> torch.equal(a, b), bool((a.abs() <= 0.5).all())
    (True, True)
    """
    tensor.uniform_(-scale, scale, generator=generator)


class early_stopping:
    """A ``stop`` callable for :func:`fit`: stop when the monitored loss has not improved for
    ``patience`` epochs (Keras's ``EarlyStopping(monitor="val_loss", patience, min_delta)``).

    An epoch improves when its loss is below the best so far by more than ``min_delta``. Pass a
    validation set as ``X_test, y_test`` to :func:`fit` and monitor ``"test_loss"`` (the default).
    After the call ``best_epoch`` and ``best_loss`` hold the best epoch seen and its loss; the
    weights are those of the last epoch (Keras's default ``restore_best_weights=False``).

    Examples
    --------
    >>> stop = early_stopping(patience=2)
    >>> [stop(e, {"test_loss": v}) for e, v in enumerate([1.0, 0.5, 0.6, 0.55])]
    [False, False, False, True]
    >>> stop.best_epoch
    1
    """

    def __init__(self, patience: int, min_delta: float = 0.0, monitor: str = "test_loss"):
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"patience must be an int >= 1; got {patience!r}")
        if not (np.isfinite(min_delta) and min_delta >= 0):
            raise ValueError(f"min_delta must be a finite number >= 0; got {min_delta!r}")
        if monitor not in ("test_loss", "train_loss"):
            raise ValueError(f"monitor must be 'test_loss' or 'train_loss'; got {monitor!r}")
        self.patience, self.min_delta, self.monitor = int(patience), float(min_delta), monitor
        self.best_loss, self.best_epoch = float("inf"), None

    def __call__(self, epoch: int, record: dict) -> bool:
        if self.monitor not in record:
            raise ValueError(f"early_stopping monitors {self.monitor!r} but the epoch record has "
                             f"{sorted(record)}; pass X_test, y_test (a validation set) to fit()")
        loss = float(record[self.monitor])
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = loss, int(epoch)
            return False
        return self.best_epoch is not None and epoch - self.best_epoch >= self.patience


@dataclass(frozen=True)
class History:
    """Per-epoch training record. ``checkpoints`` maps epoch -> state_dict (numpy copies).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
    >>> _, hist = fit(mlp((1, 2, 1), seed=0), X, y, task="regression", epochs=3, seed=0,
    ...               checkpoint_epochs=(3,))
    >>> hist.epochs, sorted(hist.checkpoints)
    ((0, 1, 2, 3), [3])
    """

    epochs: tuple
    train_loss: tuple
    test_loss: tuple = ()
    train_acc: tuple = ()
    test_acc: tuple = ()
    checkpoints: dict = field(default_factory=dict)


def _accuracy(out, y, task):
    import torch

    if task == "binary":
        pred = (out.reshape(-1) > 0).to(y.dtype)
        return float((pred == y.reshape(-1)).float().mean())
    if task == "multiclass":
        return float((out.argmax(dim=1) == y).float().mean())
    return float("nan")


def fit(model, X, y, *, task: str, epochs: int, seed: int, lr: float = 1e-2,
        weight_decay: float = 0.0, batch_size: Optional[int] = None, optimizer: str = "adam",
        X_test=None, y_test=None, checkpoint_epochs: Sequence[int] = (),
        callback: Optional[Callable] = None, stop: Optional[Callable] = None,
        progress: bool = False, eval_train: bool = True, evals_per_epoch: int = 1,
        optimizer_impl: str = "default"):
    """Train ``model`` in place and return ``(model, History)``.

    Parameters
    ----------
    task : {"regression", "binary", "multiclass"}
        Loss: mean squared error, logistic loss on one output logit (labels 0/1), or
        cross-entropy on class logits (labels 0..k-1).
    epochs : int
        Passes over the data. ``batch_size=None`` means full batch.
    seed : int
        Seeds the shuffling (the initialisation is the model's own).
    optimizer : {"adam", "adamw", "sgd"}
        ``adamw`` applies decoupled weight decay (used for grokking); ``sgd`` uses momentum 0.9.
    checkpoint_epochs : epochs after which a copy of the weights is kept in the history
        (epoch 0 = before training).
    callback : called as ``callback(epoch, model)`` after each epoch (e.g. to log geometry).
    stop : called as ``stop(epoch, record)`` after each epoch's evaluation (epoch 0 = before
        training; after that epoch's checkpoint and callback), ``record`` being the epoch's
        entries of the history: ``train_loss``, ``train_acc`` and, with a test set,
        ``test_loss``, ``test_acc``. Training ends after the first epoch for which it returns
        true; the history and checkpoints then end at that epoch. ``None`` (default): train all
        ``epochs``. Stopping never changes the epochs before it (same seeds, same batches).
    progress : bool
        Show a progress bar over the epochs.
    eval_train : bool
        Evaluate the loss (and accuracy) on the whole training set at every evaluation (default).
        ``False`` skips that forward pass over the training data: ``History.train_loss`` and
        ``train_acc`` are then empty and ``stop`` sees only the test entries. It never changes
        the trained weights (evaluation draws no random numbers), only the time.
    evals_per_epoch : int
        Evaluations per epoch (default 1: after every epoch). With ``k > 1`` the test (and
        training) set is also evaluated after each ``k``-th of an epoch's batches (after batch
        ``round(j * n_batches / k)``, ``j = 1..k``; repeated batch indices are evaluated once), the
        history's ``epochs`` hold the fractional epoch of each evaluation (``1.25``...), and ``stop``
        is asked after each: a stop inside an epoch ends training there (its later batches are not
        trained). Checkpoints and ``callback`` stay at whole epochs. The weights at a whole epoch
        do not depend on ``k``; only where ``stop`` ends training does.
    optimizer_impl : {"default", "foreach", "fused"}
        Implementation of the torch optimiser: ``"default"`` is torch's choice (a per-parameter
        loop on CPU); ``"foreach"`` and ``"fused"`` pass ``foreach=True`` or ``fused=True`` to
        ``torch.optim.Adam``/``AdamW``/``SGD`` (multi-tensor kernels, faster on small models).
        They compute the same update in another order of floating-point operations, so the
        weights agree with ``"default"`` only to rounding (and a training that stops at a
        threshold may stop at another epoch): keep ``"default"`` to reproduce a recorded run.

    Examples
    --------
    Full-batch Adam on a seeded 2 -> 4 -> 1 network for XOR-like labels; the loss goes down:

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> y = np.array([0, 1, 1, 0])
    >>> model, hist = fit(mlp((2, 4, 1), seed=0), X, y, task="binary", epochs=20, seed=0, lr=0.05)
    >>> len(hist.train_loss), hist.train_loss[-1] < hist.train_loss[0]
    (21, True)
    """
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    if task not in ("regression", "binary", "multiclass"):
        raise ValueError(f"task must be 'regression', 'binary' or 'multiclass'; got {task!r}")
    if int(epochs) < 0:
        raise ValueError(f"epochs must be >= 0; got {epochs}")
    if stop is not None and not callable(stop):
        raise ValueError(f"stop must be None or a callable stop(epoch, record) -> bool; got {stop!r}")
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    y_np = np.asarray(y)
    y = torch.as_tensor(y_np, dtype=torch.long if task == "multiclass" else torch.float32)
    if task == "regression" and y.ndim == 1:
        y = y[:, None]
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    has_test = X_test is not None and y_test is not None
    if has_test:
        Xt = torch.as_tensor(np.asarray(X_test), dtype=torch.float32)
        yt = torch.as_tensor(np.asarray(y_test), dtype=torch.long if task == "multiclass" else torch.float32)
        if task == "regression" and yt.ndim == 1:
            yt = yt[:, None]
    if not isinstance(eval_train, bool):
        raise ValueError(f"eval_train must be a bool; got {eval_train!r}")
    if (isinstance(evals_per_epoch, bool) or not isinstance(evals_per_epoch, (int, np.integer))
            or evals_per_epoch < 1):
        raise ValueError(f"evals_per_epoch must be an int >= 1; got {evals_per_epoch!r}")
    if optimizer_impl not in OPTIMIZER_IMPLS:
        raise ValueError(f"optimizer_impl must be one of {', '.join(repr(i) for i in OPTIMIZER_IMPLS)}; "
                         f"got {optimizer_impl!r}")
    model = model.float()
    params = list(model.parameters())
    impl = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[optimizer_impl]
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **impl)
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **impl)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay, **impl)
    else:
        raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd'; got {optimizer!r}")

    def loss_fn(out, target):
        if task == "regression":
            return F.mse_loss(out, target)
        if task == "binary":
            return F.binary_cross_entropy_with_logits(out.reshape(-1), target.reshape(-1))
        return F.cross_entropy(out, target)

    gen = torch.Generator().manual_seed(int(seed))
    n = len(X)
    bs = n if batch_size is None else int(batch_size)
    hist = {"epochs": [], "train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    ckpt_set = set(int(e) for e in checkpoint_epochs)
    checkpoints = {}

    def snapshot():
        return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}

    def stopped(epoch):
        if stop is None:
            return False
        record = {k: hist[k][-1] for k in ("train_loss", "train_acc", "test_loss", "test_acc")
                  if hist[k]}
        return bool(stop(epoch, record))

    def evaluate(epoch):
        model.eval()
        with torch.no_grad():
            hist["epochs"].append(epoch)
            if eval_train:
                out = model(X)
                hist["train_loss"].append(float(loss_fn(out, y)))
                hist["train_acc"].append(_accuracy(out, y, task))
            if has_test:
                ot = model(Xt)
                hist["test_loss"].append(float(loss_fn(ot, yt)))
                hist["test_acc"].append(_accuracy(ot, yt, task))
        model.train()

    evaluate(0)
    if 0 in ckpt_set:
        checkpoints[0] = snapshot()
    last = 0 if stopped(0) else int(epochs)
    n_batches = -(-n // bs) if n else 0
    k = int(evals_per_epoch)
    # batches after which an epoch is evaluated (its last batch always)
    marks = sorted({min(n_batches, max(1, int(round(j * n_batches / k)))) for j in range(1, k + 1)}) if k > 1 else []
    halted = False
    for epoch in tqdm(range(1, last + 1), disable=not progress, desc="training"):
        perm = torch.randperm(n, generator=gen) if bs < n else torch.arange(n)
        for b, s in enumerate(range(0, n, bs), start=1):
            idx = perm[s:s + bs]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            if b in marks and b < n_batches:
                at = round(epoch - 1 + b / n_batches, 6)
                evaluate(at)
                if stopped(at):
                    halted = True
                    break
        if halted:
            break
        evaluate(epoch)
        if epoch in ckpt_set:
            checkpoints[epoch] = snapshot()
        if callback is not None:
            callback(epoch, model)
        if stopped(epoch):
            break
    model.eval()
    history = History(
        epochs=tuple(hist["epochs"]), train_loss=tuple(hist["train_loss"]),
        test_loss=tuple(hist["test_loss"]), train_acc=tuple(hist["train_acc"]),
        test_acc=tuple(hist["test_acc"]), checkpoints=checkpoints)
    return model, history
