"""A linear probe of the memory at the junction: does m_{T-1} still say which side the cue was?

    probe = CueProbe.fit(fit.junction_memory, fit.cue_sides)    # episodes at the trained length
    probe.accuracy(test.junction_memory, test.cue_sides)         # other episodes, any length

Logistic regression on standardised features with a small L2 penalty, solved with L-BFGS in
float64 (deterministic; a few hundred samples of H ≤ 1024 features take milliseconds). The probe
is fitted once, on its own episodes at the length the run was trained at, and then only tested:
a memory that keeps the cue in the same linear direction at 100 L scores as it did at L, one
whose state drifts away scores chance (0.5). It reads the memory alone, so it measures what the
memory holds whether or not the policy head uses it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

L2_PENALTY = 1e-3
"""Weight of ||w||² in the mean logistic loss: keeps w finite on separable data."""


class ProbeError(ValueError):
    """The probe cannot be fitted on the episodes given."""


@dataclasses.dataclass(frozen=True)
class CueProbe:
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float
    fit_accuracy: float
    """Accuracy on its own fit set (a ceiling for the held-out figures, not one of them)."""

    @classmethod
    def fit(cls, features: np.ndarray, cue_sides: np.ndarray, iterations: int = 200) -> "CueProbe":
        """Fits w, b of P(right | m) = σ(w·(m - mean)/scale + b) on [N, H] features."""
        labels = np.asarray(cue_sides)
        if len(np.unique(labels)) < 2:
            raise ProbeError(f"the probe's {len(labels)} fit episodes all have the same cue "
                             "side: give it more episodes (--probe-episodes)")
        mean = features.mean(0)
        scale = features.std(0) + 1e-6
        z = torch.as_tensor((features - mean) / scale, dtype=torch.float64)
        y = torch.as_tensor(labels, dtype=torch.float64)
        weight = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
        bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
        solver = torch.optim.LBFGS([weight, bias], max_iter=iterations,
                                   line_search_fn="strong_wolfe")

        def loss() -> torch.Tensor:
            solver.zero_grad()
            value = torch.nn.functional.binary_cross_entropy_with_logits(z @ weight + bias, y)
            value = value + L2_PENALTY * weight.square().sum()
            value.backward()
            return value

        with torch.enable_grad():
            solver.step(loss)
        probe = cls(mean, scale, weight.detach().numpy(), bias.item(), 0.0)
        return dataclasses.replace(probe, fit_accuracy=probe.accuracy(features, labels))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """0 (left) or 1 (right) per row of [N, H] features."""
        logits = ((features - self.mean) / self.scale) @ self.weight + self.bias
        return (logits > 0).astype(np.int64)

    def accuracy(self, features: np.ndarray, cue_sides: np.ndarray) -> float:
        return float(np.mean(self.predict(features) == np.asarray(cue_sides)))
