"""pullback: pure-functional, fully typed reverse-mode automatic differentiation.

A rule is a function ``rule(x) -> (y, pullback)``; ``compose`` chains rules into
rules; ``gradient`` seeds the last pullback with 1.0.

>>> from pullback import compose, exp, gradient, square
>>> gradient(compose(square, exp, square), 0.5)
3.297442541400256
"""

from . import ops as ops
from ._api import gradient as gradient
from ._api import pullback as pullback
from ._api import value_and_gradient as value_and_gradient
from ._api import withgradient as withgradient
from ._check import check_rule as check_rule
from ._check import numerical_gradient as numerical_gradient
from ._compile import compiled as compiled
from ._compose import Composition as Composition
from ._compose import ElementwiseComposition as ElementwiseComposition
from ._compose import compose as compose
from ._forward import hvp as hvp
from ._forward import jvp as jvp
from ._forward import pushforward as pushforward
from ._higher import hessian as hessian
from ._higher import jacobian as jacobian
from ._rules.binary import add as add
from ._rules.binary import div as div
from ._rules.binary import mul as mul
from ._rules.binary import sub as sub
from ._rules.elementwise import cos as cos
from ._rules.elementwise import exp as exp
from ._rules.elementwise import log as log
from ._rules.elementwise import relu as relu
from ._rules.elementwise import sigmoid as sigmoid
from ._rules.elementwise import sin as sin
from ._rules.elementwise import softplus as softplus
from ._rules.elementwise import sqrt as sqrt
from ._rules.elementwise import square as square
from ._rules.elementwise import tanh as tanh
from ._rules.factories import add_const as add_const
from ._rules.factories import power as power
from ._rules.factories import scale as scale
from ._rules.nn import affine as affine
from ._rules.nn import log_softmax as log_softmax
from ._rules.nn import softmax as softmax
from ._rules.nn import softmax_cross_entropy as softmax_cross_entropy
from ._trace import lift as lift
from ._trace import trace as trace
from ._types import Array as Array
from ._types import ElementwiseFunction as ElementwiseFunction
from ._types import ElementwiseRule as ElementwiseRule
from ._types import Labels as Labels
from ._types import MultiRule as MultiRule
from ._types import Pullback as Pullback
from ._types import RealArray as RealArray
from ._types import Rule as Rule
from ._walkthrough import GraphvizMissing as GraphvizMissing
from ._walkthrough import Step as Step
from ._walkthrough import Walkthrough as Walkthrough
from ._walkthrough import walkthrough as walkthrough

__all__ = [
    "Array",
    "Composition",
    "ElementwiseComposition",
    "ElementwiseFunction",
    "ElementwiseRule",
    "GraphvizMissing",
    "Labels",
    "MultiRule",
    "Pullback",
    "RealArray",
    "Rule",
    "Step",
    "Walkthrough",
    "add",
    "add_const",
    "affine",
    "check_rule",
    "compiled",
    "compose",
    "cos",
    "div",
    "exp",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "lift",
    "log",
    "log_softmax",
    "mul",
    "numerical_gradient",
    "ops",
    "power",
    "pullback",
    "pushforward",
    "relu",
    "scale",
    "sigmoid",
    "sin",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "sqrt",
    "square",
    "sub",
    "tanh",
    "trace",
    "value_and_gradient",
    "walkthrough",
    "withgradient",
]

__version__ = "0.1.0"
