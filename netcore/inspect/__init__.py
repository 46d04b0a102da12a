"""Looking inside a network: what each layer computes, what the output depends on, how it learns.

Pure functions over a network and arrays (no Qt). Every function that runs the network runs its
inference twin (``netcore.inspect.twin``), so inspecting never disturbs the caches, gradients or
random state a training step relies on.

    trace(network, x)                     -> [LayerOutput]   every layer's output
    conv_filters(network)                 -> (F, C, kh, kw)  the first conv layer's filters
    saliency(network, x, target=None)     -> Saliency        d score / d input (+ the trace)
    occlusion(network, image, target=None)-> Occlusion       p(target) drop per blanked patch
    decision_grid(network, bounds, res)   -> DecisionGrid    probabilities and units over a plane
    confusion(network, x, y)              -> Confusion       matrix (rows = true) and cell indices
    gradient_check(spec_or_network, x, y) -> GradientCheck   float64 central differences per tensor
    HealthRecorder, health_series, health_hints               training health (the trainer records it)
"""

from netcore.inspect.confusion import Confusion, confusion, confusion_matrix
from netcore.inspect.decision import DecisionGrid, GridLayer, bounds_around, decision_grid
from netcore.inspect.gradcheck import GradientCheck, TensorCheck, gradient_check
from netcore.inspect.health import HealthRecorder, HealthSeries, health_series
from netcore.inspect.hints import Hint, health_hints
from netcore.inspect.occlusion import Occlusion, occlusion
from netcore.inspect.saliency import Saliency, image_layout, peak, saliency, saliency_map
from netcore.inspect.trace import LayerOutput, conv_filters, trace

__all__ = [
    "Confusion",
    "DecisionGrid",
    "GradientCheck",
    "GridLayer",
    "HealthRecorder",
    "HealthSeries",
    "Hint",
    "LayerOutput",
    "Occlusion",
    "Saliency",
    "TensorCheck",
    "bounds_around",
    "confusion",
    "conv_filters",
    "confusion_matrix",
    "decision_grid",
    "gradient_check",
    "health_hints",
    "health_series",
    "image_layout",
    "occlusion",
    "peak",
    "saliency",
    "saliency_map",
    "trace",
]
