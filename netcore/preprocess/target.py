"""What an MNIST digit looks like: the format the preprocessing pipeline produces."""

from __future__ import annotations

SIZE = 28  # MNIST image side
FIT_BOX = 20  # MNIST fits the digit into 20x20 inside the 28x28 frame
COM_TARGET = 14.0  # where MNIST's centre of mass sits (index coords; test set mean 13.99, 14.01)
# stroke_width(to_ink(x) > 0.5) over the MNIST test digits, in 28x28 pixels: median 2.4,
# 10th percentile 1.7, 90th 3.5. Strokes outside the range are brought to the median; strokes
# inside keep their natural variation (a model trained on MNIST has seen it).
MNIST_STROKE = 2.4
MNIST_STROKE_RANGE = (1.8, 3.4)
