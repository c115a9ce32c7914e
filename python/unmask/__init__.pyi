from typing import Callable, Sequence, Union

import numpy as np

from ._unmask import (
    BlockCurves as BlockCurves,
    Curve as Curve,
    __version__ as __version__,
    compare as compare,
    draw as draw,
    estimation_grid as estimation_grid,
    estimation_orders as estimation_orders,
    expected_kl as expected_kl,
    frontier as frontier,
    optimal_schedule as optimal_schedule,
    schedule as schedule,
    transfer_counts as transfer_counts,
)

def estimate_curve(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    sequences: np.ndarray,
    points: Union[int, Sequence[int]] = ...,
    seed: int = ...,
    batch_size: int = ...,
    loss: str = ...,
    unit: str = ...,
) -> Curve: ...
