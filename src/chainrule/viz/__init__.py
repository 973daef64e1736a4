"""See the graph: draw it, explain its backward pass step by step, print it as flat code (``chainrule.viz``).

- :func:`draw`: the graph as a ``graphviz.Digraph`` with values (green) and gradients (red) on its edges.
- :func:`explain`: the backward pass in words, node by node (also ``chainrule.explain``).
- :func:`html`: one self-contained interactive page: click a gate, step through the backward pass.
- :func:`record`: keep every forward value and composite call made inside a ``with`` block, for the above.
- :func:`flat_backprop`: straight-line forward and backward code of a function, runnable.
"""

from ..tensor import Tensor
from .draw import GraphvizNotFound, draw
from .explain import Explanation, SavedReport, explain
from .flat import FlatBackprop, FlatResult, flat_backprop
from .html import html, repr_html
from .record import record

# NOTE: a tensor with a graph shows its interactive page in Jupyter (None, and so the text repr, otherwise).
Tensor._repr_html_ = repr_html

__all__ = ["draw", "explain", "html", "flat_backprop", "record", "Explanation", "SavedReport", "FlatBackprop",
           "FlatResult", "GraphvizNotFound"]
