"""Moved to ``netcore.inspect.gradcheck`` (the engine's checker); kept so tests written against
the old path still import. New tests import from netcore.inspect.gradcheck."""

from netcore.inspect.gradcheck import check_layer, check_loss, numerical_grad, relative_error

__all__ = ["check_layer", "check_loss", "numerical_grad", "relative_error"]
