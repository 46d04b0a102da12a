"""netcore: a neural-network engine written by hand in NumPy.

Nothing here imports Qt; the desktop window is a client of this package.
"""

from netcore.network import Network
from netcore.spec import SpecError, analyse, check_spec, load_spec

__version__ = "0.1.0"
__all__ = ["Network", "SpecError", "analyse", "check_spec", "load_spec"]
