"""Paper code: one package per paper, each holding that paper's models, data generators and
loaders, experiment tasks and paper-specific figures.

``liu``      Liu, Cole, Peterson, Kirby -- polyhedral decompositions and persistent homology
``wang``     Yuan Wang -- estimation and comparison of linear regions
``lamalfa``  La Malfa, La Malfa, Nicosia, Latora -- deep networks via complex network theory
``tawfeek``  Tawfeek, Stone, Tanweer, Rask, Bosca -- polyhedral cell complexes of ReLU networks
``beshkov``  Beshkov -- a relative homology theory of representation in neural networks
``engine_slices``  not a paper: the chapter on exact slices of piecewise-linear torch models

Imports point one way: these packages use the core library (``relutopo``); the core never
imports them. A new paper is a new package here plus ``notebooks/<paper>.ipynb``.
"""
