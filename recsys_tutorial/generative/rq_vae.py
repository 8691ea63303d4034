"""RQ-VAE: semantic IDs from a learned residual quantiser.

RQ-KMeans quantises the vectors as they are. An RQ-VAE (Lee et al. 2022; the quantiser of
TIGER, Rajput et al. 2023) learns where to quantise: an encoder maps each vector to a
small latent ``z``, ``L`` codebooks quantise it residually (level 1 picks the code nearest
``z``, level 2 the code nearest what is left, ...), and a decoder must rebuild the input
from the sum of the chosen codes. Picking the nearest code has no gradient, so the
*straight-through estimator* passes the decoder's gradient to ``z`` unchanged; each
codebook moves towards the residuals it is picked for (the codebook loss) and the encoder
is held near its codes (the commitment loss, weighted by ``beta``). A code nobody picks
gets no gradient and stays dead (*codebook collapse*); after each epoch such codes are
re-seeded on residuals of random items. Explained in :doc:`/notebooks/07_semantic_ids`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .ids import SemanticIDs, check_shape, check_vectors, finish, quantisation_error
from .rq_kmeans import residual_kmeans


class RQVAE(nn.Module):
    """An MLP encoder to a ``latent``-dimensional ``z``, ``levels`` codebooks of
    ``codebook`` codes that quantise ``z`` residually, and an MLP decoder. Chapter 07."""

    def __init__(self, dim: int, levels: int = 3, codebook: int = 32, latent: int = 32, hidden: int = 256):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.codebooks = nn.Parameter(torch.randn(levels, codebook, latent))

    def quantise(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Codes ``(n, levels)``, the chosen codes ``(levels, n, latent)`` and the residuals
        each level quantised ``(levels, n, latent)``. Chapter 07."""
        residual, codes, chosen, residuals = z, [], [], []
        for book in self.codebooks:
            code = torch.cdist(residual, book).argmin(dim=1)  # the nearest code
            residuals.append(residual)
            chosen.append(book[code])
            codes.append(code)
            residual = residual - book[code].detach()
        return torch.stack(codes, 1), torch.stack(chosen), torch.stack(residuals)

    def forward(
        self, x: torch.Tensor, beta: float = 0.25
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The reconstruction through the quantised latent, the codes, and the two parts of
        the training loss (reconstruction, quantisation), means over the items.

        Loss per item: ``||x - decoder(z_q)||^2`` plus, summed over levels,
        ``||sg(r) - e||^2 + beta ||r - sg(e)||^2`` for each residual ``r`` and its code
        ``e`` (``sg``: stop gradient). Chapter 07.
        """
        z = self.encoder(x)
        codes, chosen, residuals = self.quantise(z)
        quantised = chosen.sum(0)
        straight_through = z + (quantised - z).detach()  # forward: z_q; backward: identity
        reconstruction = self.decoder(straight_through)
        codebook_loss = ((residuals.detach() - chosen) ** 2).sum(-1).sum(0)
        commitment = ((residuals - chosen.detach()) ** 2).sum(-1).sum(0)
        error = ((x - reconstruction) ** 2).sum(-1)
        return reconstruction, codes, error.mean(), (codebook_loss + beta * commitment).mean()


def reseed_dead_codes(
    codebooks: torch.Tensor, counts: torch.Tensor, residuals: torch.Tensor, generator: torch.Generator
) -> int:
    """Move each code picked by no item (``counts == 0``) onto the residual of a random item
    at its level, in place; returns how many were moved. ``counts``: ``(levels, codebook)``;
    ``residuals``: ``(levels, n, latent)``. Chapter 07."""
    revived = 0
    with torch.no_grad():
        for level, book in enumerate(codebooks):
            dead = (counts[level] == 0).nonzero().flatten()
            if len(dead):
                rows = torch.randint(residuals.shape[1], (len(dead),), generator=generator)
                book[dead] = residuals[level, rows]
                revived += len(dead)
    return revived


def train_rq_vae(
    x: np.ndarray, levels: int = 3, codebook: int = 32, latent: int = 32, hidden: int = 256,
    epochs: int = 150, lr: float = 1e-3, beta: float = 0.25, batch_size: int = 256, seed: int = 0,
    init: Literal["kmeans", "random"] = "kmeans", reseed: bool = True, progress: bool = False,
) -> tuple[RQVAE, list[dict[str, float | int]]]:
    """Train an :class:`RQVAE` on the rows of ``x`` with Adam; returns it and one record per
    epoch (the two mean losses, the codes re-seeded).

    ``init="kmeans"`` starts the codebooks at RQ-KMeans of the untrained encoder's latents;
    ``"random"`` at random normal codes (a start that leaves most codes dead, to show
    collapse). With ``reseed`` the dead codes of each epoch but the last are re-seeded.
    Seeded and on one CPU thread (restored afterwards), so re-runs give the same model.
    Chapter 07.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _train(x, levels, codebook, latent, hidden, epochs, lr, beta, batch_size, seed, init,
                          reseed, progress)
    finally:
        torch.set_num_threads(threads)


def _train(
    x: np.ndarray, levels: int, codebook: int, latent: int, hidden: int, epochs: int, lr: float, beta: float,
    batch_size: int, seed: int, init: str, reseed: bool, progress: bool,
) -> tuple[RQVAE, list[dict[str, float | int]]]:
    check_shape(levels, codebook, len(x))
    if init not in ("kmeans", "random"):
        raise ValueError(f"init must be 'kmeans' or 'random', got {init!r}")
    if epochs < 1 or batch_size < 1 or lr <= 0 or beta < 0:
        raise ValueError("epochs and batch_size must be >= 1, lr > 0 and beta >= 0")
    data = torch.as_tensor(check_vectors(x, normalise=False), dtype=torch.float32)
    model = RQVAE(data.shape[1], levels, codebook, latent, hidden)
    generator = torch.Generator().manual_seed(seed)
    if init == "kmeans":
        with torch.no_grad():
            _, books = residual_kmeans(model.encoder(data).numpy(), levels, codebook, seed, n_init=1)
            model.codebooks.copy_(torch.as_tensor(np.stack(books), dtype=torch.float32))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in tqdm(range(epochs), desc="RQ-VAE", disable=not progress):
        model.train()
        totals, counts = np.zeros(2), torch.zeros(levels, codebook, dtype=torch.long)
        for batch in torch.randperm(len(data), generator=generator).split(batch_size):
            _, codes, error, quantisation = model(data[batch], beta)
            optimiser.zero_grad()
            (error + quantisation).backward()
            optimiser.step()
            totals += [error.item() * len(batch), quantisation.item() * len(batch)]
            for level in range(levels):
                counts[level] += torch.bincount(codes[:, level], minlength=codebook)
        revived = 0
        if reseed and epoch < epochs - 1:
            with torch.no_grad():
                _, _, residuals = model.quantise(model.encoder(data))
            revived = reseed_dead_codes(model.codebooks, counts, residuals, generator)
        error, quantisation = (float(total / len(data)) for total in totals)
        history.append({"reconstruction": error, "quantisation": quantisation, "revived": revived})
    model.eval()
    return model, history


def rq_vae(
    vectors: np.ndarray, levels: int = 3, codebook: int = 32, latent: int = 32, hidden: int = 256,
    epochs: int = 150, lr: float = 1e-3, beta: float = 0.25, batch_size: int = 256, seed: int = 0,
    normalise: bool = True, init: Literal["kmeans", "random"] = "kmeans", reseed: bool = True,
    progress: bool = False,
) -> SemanticIDs:
    """Semantic IDs of ``levels`` RQ-VAE codes of ``codebook`` each, plus the
    disambiguation code.

    ``vectors`` as for :func:`~recsys_tutorial.generative.rq_kmeans.rq_kmeans` (unit rows
    with ``normalise``); the reconstruction error is the decoder's, in that input space,
    so the two quantisers compare on one scale. ``init="random", reseed=False`` shows
    codebook collapse. See :func:`train_rq_vae` for the rest.
    Chapter 07.
    """
    x = check_vectors(vectors, normalise)
    check_shape(levels, codebook, len(x))
    model, _ = train_rq_vae(
        x, int(levels), int(codebook), latent, hidden, epochs, lr, beta, batch_size, seed, init, reseed,
        progress,
    )
    with torch.no_grad():
        reconstruction, codes, _, _ = model(torch.as_tensor(x, dtype=torch.float32))
    error = quantisation_error(x, reconstruction.double().numpy())
    return finish(codes.numpy(), (int(codebook),) * int(levels), "rq-vae", error)
