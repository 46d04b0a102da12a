"""The Inside area (issue 12): views that draw what a network computes, handed plain arrays.

    decision.py     DecisionView     class probabilities over the input plane, one neuron's map
    activations.py  ActivationsView  each layer's output for the pad's digit, filters, saliency
    confusion.py    ConfusionView    the test split's confusion matrix and a gallery per cell
    health.py       HealthView       gradient norms, update ratios, dead ReLUs, weight histograms
    gradcheck.py    GradCheckView    the per-tensor table of a gradient check
    pictures.py     colour maps, class colours, tiling of feature maps (shared)

The views never run a network: desktop/inspection.py computes off the UI thread and calls
their ``show_*`` methods; they emit requests (a cell clicked, an image chosen, a check asked).
"""
