"""Stroke-width normalisation: thicken or thin a stroke to MNIST's median width."""

from __future__ import annotations

import numpy as np

from netcore.preprocess.ink import ink_bbox, stroke_width
from netcore.preprocess.morphology import filter_step, thin_step, zero_pad
from netcore.preprocess.target import FIT_BOX, MNIST_STROKE, MNIST_STROKE_RANGE

OVERSAMPLE = 4  # stroke morphology runs at 4x the output resolution


def normalise_stroke(work: np.ndarray, refit: bool) -> tuple[np.ndarray, int]:
    """Thicken or thin a stroke outside MNIST_STROKE_RANGE until it is MNIST_STROKE wide.

    work: ink at OVERSAMPLE x the output resolution. The output width is predicted from the
    work image: width / OVERSAMPLE, or with ``refit`` (the digit is fitted into 20 px again
    after it grew or shrank) width * 20 / longer side. It is measured again after every step
    near the goal, which corrects the width estimate's bias on blobby shapes.
    Thickening is a grayscale dilation (octagon, one pixel a step; the image is padded so the
    ink never reaches its edge). Thinning peels one boundary layer a step with Zhang-Suen
    thinning, which keeps every stroke connected where a plain erosion would cut the thin parts
    of an uneven stroke; its result is binary (the downscale anti-aliases it).
    Returns (image, steps): steps > 0 dilation, < 0 thinning.
    """

    def predicted(mask: np.ndarray) -> tuple[float, float]:
        """(output width, work width) of the stroke in a bool mask."""
        box = ink_bbox(mask)
        if box is None:
            return 0.0, 0.0
        t, l_, b, r = box
        w = stroke_width(mask[t:b, l_:r])
        return (w * FIT_BOX / max(b - t, r - l_) if refit else w / OVERSAMPLE), w

    mask = work > 0.5
    width, work_width = predicted(mask)
    low, high = MNIST_STROKE_RANGE
    if width == 0.0 or low <= width <= high:
        return work, 0
    if width < MNIST_STROKE:
        return _thicken(work, width, predicted)
    # each Zhang-Suen sub-iteration takes ~1 work px off the width (and off the longer side);
    # run the first 60 % of the estimated count without measuring
    if refit:
        side = work_width * FIT_BOX / width
        estimate = (FIT_BOX * work_width - MNIST_STROKE * side) / (FIT_BOX - MNIST_STROKE)
    else:
        estimate = work_width - MNIST_STROKE * OVERSAMPLE
    blind = int(0.6 * estimate)
    state = zero_pad(mask, 1)
    steps = 0
    for k in range(4 * OVERSAMPLE * FIT_BOX):  # more than enough to reach a skeleton
        nxt = thin_step(state, first=k % 2 == 0)
        if k < blind:
            state, steps = nxt, k + 1
            continue
        w_next, _ = predicted(nxt)
        if w_next <= MNIST_STROKE:
            if abs(w_next - MNIST_STROKE) < abs(width - MNIST_STROKE):
                state, steps = nxt, k + 1
            break
        if k % 2 == 1 and np.array_equal(nxt, state):
            break  # a one-pixel skeleton: nothing left to peel
        state, width, steps = nxt, w_next, k + 1
    if steps == 0:
        return work, 0
    return state[1:-1, 1:-1].astype(np.float32), -steps


def _thicken(work: np.ndarray, width: float, predicted) -> tuple[np.ndarray, int]:
    # the goal is ~10 work px wide, so OVERSAMPLE * 3 steps (6 output px) always suffice
    max_steps = 3 * OVERSAMPLE
    state = zero_pad(work, max_steps + 1)
    steps = 0
    for k in range(max_steps):
        nxt = filter_step(state, np.maximum, square=k % 2 == 0)
        w_next, _ = predicted(nxt > 0.5)
        if w_next >= MNIST_STROKE:
            if abs(w_next - MNIST_STROKE) < abs(width - MNIST_STROKE):
                state, steps = nxt, k + 1
            break
        state, width, steps = nxt, w_next, k + 1
    return state, steps
