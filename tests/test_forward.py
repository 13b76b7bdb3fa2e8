"""Forward mode: pushforward, jvp, hvp and forward Jacobians, transposed from the table."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as pb
from pullback import Array, gradient, hessian, hvp, jacobian, jvp, pushforward, trace
from pullback._forward import jacobian_forward

from .helpers import five_point

RNG = np.random.default_rng(11)
W = RNG.normal(size=(4, 3))
X3 = np.array([0.3, -0.7, 1.2])
V3 = np.array([1.0, 0.5, -2.0])


def numerical_jvp(f: Callable[[Any], Any], x: Any, dx: Any, h: float = 1e-4) -> Any:
    """The 5-point difference of ``t -> f(x + t dx)`` at 0 (the value of a rule)."""

    def along(t: float) -> Any:
        return np.asarray(f(x + t * dx)[0], dtype=np.float64)

    return (-along(2 * h) + 8 * along(h) - 8 * along(-h) + along(-2 * h)) / (12 * h)


def cube(x: float) -> tuple[float, Callable[[float], float]]:
    def cube_pullback(dy: float) -> float:
        return dy * 3.0 * x * x

    return x**3, cube_pullback


def opaque_cube(x: float) -> tuple[float, Callable[[float], float]]:
    def opaque_cube_pullback(dy: float) -> float:
        return float(dy) * 3.0 * x * x  # float(dy): a plain number, not traceable

    return x**3, opaque_cube_pullback


# -- rules of one argument: library, compositions, traced NumPy code -----------------------

ONE_ARGUMENT: list[tuple[str, Any, Any, Any]] = [
    ("exp float", pb.exp, 0.4, 1.5),
    ("sin float", pb.sin, -1.1, 1.0),
    ("sigmoid float", pb.sigmoid, 0.3, -2.0),
    ("tanh array", pb.tanh, X3, V3),
    ("scale array", pb.scale(-2.5), X3, V3),
    ("power array", pb.power(3), X3, V3),
    ("softmax", pb.softmax, np.array([[0.1, 2.0, -1.0]]), np.array([[1.0, 0.0, 2.0]])),
    ("composition float", pb.compose(pb.sin, pb.exp, pb.square), 0.5, 1.0),
    ("composition array", pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1)), X3, V3),
    ("composition with a user rule", pb.compose(pb.sin, cube), 0.5, 2.0),
    ("user rule", cube, 1.5, -1.0),
    ("traced elementwise", trace(lambda x: np.exp(np.sin(x)) * x - np.sqrt(x * x + 1.0)), X3, V3),
    ("traced matmul", trace(lambda x: np.tanh(W @ x) + 0.5), X3, V3),
    ("traced reduction", trace(lambda x: np.sum(x * x) + np.prod(np.cos(x))), X3, V3),
    (
        "traced reduction with axis",
        trace(lambda m: np.max(m, axis=1) * np.sum(np.exp(m), axis=0)[:2]),
        np.array([[0.1, 0.9, 0.3], [1.5, -0.2, 0.4]]),
        np.array([[1.0, -1.0, 0.5], [0.2, 0.3, -0.7]]),
    ),
    ("traced float to array", trace(lambda t: np.stack([t, t * t, np.sin(t)])), 0.8, 1.5),
    ("traced array to float", trace(lambda x: np.mean(x**3) / (1.0 + x[0] ** 2)), X3, V3),
]


@pytest.mark.parametrize(("name", "f", "x", "dx"), ONE_ARGUMENT, ids=[c[0] for c in ONE_ARGUMENT])
def test_jvp_against_finite_differences_and_the_jacobian(
    name: str, f: Any, x: Any, dx: Any
) -> None:
    y, dy = jvp(f, (x,), (dx,))
    value = f(x)[0]
    np.testing.assert_allclose(y, value, rtol=1e-15)
    np.testing.assert_allclose(dy, numerical_jvp(f, x, dx), rtol=1e-7, atol=1e-9)
    J = jacobian(f, x)
    expected = J * dx if type(x) is float else np.tensordot(J, dx, axes=np.ndim(x))
    np.testing.assert_allclose(dy, expected, rtol=1e-13, atol=1e-14)
    assert type(dy) is type(value)  # floats stay floats, arrays stay arrays
    assert np.shape(dy) == np.shape(value)


@pytest.mark.parametrize(("name", "f", "x", "dx"), ONE_ARGUMENT, ids=[c[0] for c in ONE_ARGUMENT])
def test_push_is_linear_and_pure(name: str, f: Any, x: Any, dx: Any) -> None:
    _, push = pushforward(f, x)
    first = push(dx)
    second = push(dx)
    np.testing.assert_array_equal(first, second)  # called twice: the same
    np.testing.assert_allclose(push(-3.0 * dx), -3.0 * first, rtol=1e-14, atol=1e-15)
    other = dx * 0.5 + 1.0
    np.testing.assert_allclose(push(dx + other), first + push(other), rtol=1e-13, atol=1e-14)
    if isinstance(dx, np.ndarray):
        before = dx.copy()
        out = push(dx)
        np.testing.assert_array_equal(dx, before)  # the tangent is not written in place
        assert not np.shares_memory(out, dx)


@pytest.mark.parametrize(("name", "f", "x", "dx"), ONE_ARGUMENT, ids=[c[0] for c in ONE_ARGUMENT])
def test_jacobian_forward_is_the_reverse_jacobian(name: str, f: Any, x: Any, dx: Any) -> None:
    forward = jacobian_forward(f, x)
    reverse = jacobian(f, x)
    assert type(forward) is type(reverse)
    np.testing.assert_allclose(forward, reverse, rtol=1e-13, atol=1e-14)


def test_rules_of_several_arguments() -> None:
    y, push = pushforward(pb.mul, 2.0, 3.0)
    assert y == 6.0
    assert push(1.0, 0.0) == 3.0
    assert push(0.0, 1.0) == 2.0
    assert jvp(pb.div, (1.0, 4.0), (1.0, 1.0)) == (0.25, 0.25 - 1.0 / 16.0)
    a: Array = np.array([1.0, 2.0, 3.0])
    b: Array = np.array([[0.5], [2.0]])  # broadcasting
    da: Array = np.array([1.0, -1.0, 0.5])
    db: Array = np.array([[2.0], [1.0]])
    product, d_product = jvp(pb.mul, (a, b), (da, db))
    np.testing.assert_array_equal(product, a * b)
    np.testing.assert_allclose(d_product, da * b + a * db, rtol=1e-15)
    x, w, bias = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)
    dx, dw, dbias = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)
    _, d_affine = jvp(pb.affine, (x, w, bias), (dx, dw, dbias))
    np.testing.assert_allclose(d_affine, dx @ w + x @ dw + dbias, rtol=1e-13)
    f = trace(lambda p, q: np.sum(np.sin(p) * q) + p[0] * q[1])
    p, q = np.array([0.2, 0.4]), np.array([1.5, -0.5])
    dp, dq = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    _, dy = jvp(f, (p, q), (dp, dq))
    gp, gq = gradient(f, p, q)
    assert dy == pytest.approx(float(gp @ dp + gq @ dq), rel=1e-14)
    # an argument the output does not depend on has a zero column
    _, push = pushforward(trace(lambda s, t: s * s), 3.0, 4.0)
    assert push(1.0, 0.0) == 6.0
    assert push(0.0, 1.0) == 0.0


def test_trees_of_tangents_for_traced_functions() -> None:
    def loss(params: Any) -> Any:
        hidden = np.tanh(X3 @ params["w"] + params["b"][0])
        return np.sum(hidden**2) * params["b"][1]

    f = trace(loss)
    params: Any = {"w": RNG.normal(size=(3, 2)), "b": [RNG.normal(size=2), 1.5]}
    tangent: Any = {"w": RNG.normal(size=(3, 2)), "b": [RNG.normal(size=2), -0.5]}
    _, push = pushforward(f, params)
    dy = push(tangent)
    g: Any = gradient(f, params)
    expected = np.sum(g["w"] * tangent["w"]) + g["b"][0] @ tangent["b"][0]
    expected += g["b"][1] * tangent["b"][1]
    assert type(dy) is float
    assert dy == pytest.approx(expected, rel=1e-13)
    with pytest.raises(TypeError, match="structure"):
        push({"w": tangent["w"]})


def test_hvp_of_rosenbrock_against_the_hessian() -> None:
    def rosenbrock(x: Any) -> Any:
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    f = trace(rosenbrock)
    for n in (2, 100):
        rng = np.random.default_rng(n)
        x, v = rng.normal(size=n), rng.normal(size=n)
        expected = hessian(f, x) @ v
        np.testing.assert_allclose(hvp(f, x, v), expected, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(
        hvp(f, np.array([1.0, 1.0]), np.array([1.0, 0.0])), np.array([802.0, -400.0])
    )


def test_hvp_of_one_value_is_the_gradient_of_the_inner_product_bit_for_bit() -> None:
    # hvp pulls the traced gradient back at v itself; the gradient of <grad f, v>
    # (what it did before, and still does for a tree) sends v back to the gradient.
    def rosenbrock(x: Any) -> Any:
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    f = trace(rosenbrock)
    g = trace(lambda p: np.tanh(p) * p**3)  # array-valued: the Hessian of its sum
    rng = np.random.default_rng(11)
    for h, n in ((f, 2), (f, 50), (g, 5)):
        x, v = rng.normal(size=n), rng.normal(size=n)
        v[0], v[-1] = np.nan, -0.0

        def inner_product(p: Any, h: Any = h, v: Any = v) -> Any:
            return np.sum(gradient(h, p) * v)

        inner = gradient(trace(inner_product), x)
        got = hvp(h, x, v)
        assert type(got) is np.ndarray and got.shape == (n,)
        np.testing.assert_array_equal(got, inner)
    scalar = trace(lambda t: np.log(t) ** 2 * np.cos(t))
    inner_float = gradient(trace(lambda t: gradient(scalar, t) * -1.5), 0.7)
    assert hvp(scalar, 0.7, -1.5) == inner_float
    assert type(hvp(scalar, 0.7, -1.5)) is float
    assert hvp(trace(lambda t: 3.0 * t), 0.7, 2.0) == 0.0  # a constant gradient


def test_hvp_of_a_network_loss_in_plain_numpy() -> None:
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(5, 3))
    labels = np.eye(2)[[0, 1, 1, 0, 1]]

    def loss(theta: Any) -> Any:
        w1 = np.reshape(theta[:12], (3, 4))
        b1 = theta[12:16]
        w2 = np.reshape(theta[16:24], (4, 2))
        hidden = np.tanh(inputs @ w1 + b1)
        logits = hidden @ w2
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        return -np.sum(labels * log_p) / inputs.shape[0]

    f = trace(loss)
    theta = rng.normal(size=24) * 0.5
    v = rng.normal(size=24)
    np.testing.assert_allclose(hvp(f, theta, v), hessian(f, theta) @ v, rtol=1e-11, atol=1e-13)
    # forward over reverse gives the same product
    _, push = pushforward(trace(lambda p: gradient(f, p)), theta)
    np.testing.assert_allclose(push(v), hessian(f, theta) @ v, rtol=1e-11, atol=1e-13)


def test_hvp_of_floats_rules_and_trees() -> None:
    x = 0.7
    assert hvp(pb.sin, x, 2.0) == pytest.approx(-2.0 * np.sin(x), rel=1e-15)
    assert type(hvp(pb.sin, x, 2.0)) is float
    chain = pb.compose(pb.exp, pb.square)  # exp(x²): second derivative (2 + 4x²) exp(x²)
    assert hvp(chain, x, 1.0) == pytest.approx((2 + 4 * x * x) * np.exp(x * x), rel=1e-14)
    np.testing.assert_allclose(hvp(pb.tanh, X3, V3), np.diag(hessian(pb.tanh, X3)) * V3)
    f = trace(lambda p: np.sum(p["a"] ** 3) * p["b"])
    params = {"a": np.array([1.0, 2.0]), "b": 3.0}
    out = hvp(f, params, {"a": np.array([1.0, 0.0]), "b": 1.0})
    # ∂²/∂a² = diag(6 a b), ∂²/∂a∂b = 3a², ∂²/∂b² = 0
    np.testing.assert_allclose(out["a"], np.array([18.0 + 3.0, 12.0]))
    assert out["b"] == pytest.approx(3.0)


def test_nested_forward_mode_inside_traced_code() -> None:
    f = trace(lambda x: np.sin(x) * x * x)
    x = 0.7
    second = 2 * np.sin(x) + 4 * x * np.cos(x) - x * x * np.sin(x)
    # the gradient of a jvp: d/dx f'(x)
    assert gradient(trace(lambda t: jvp(f, (t,), (1.0,))[1]), x) == pytest.approx(second)
    # a jvp of a gradient (forward over reverse)
    _, dy = jvp(trace(lambda t: gradient(f, t)), (x,), (1.0,))
    assert dy == pytest.approx(second, rel=1e-14)


def test_strong_zero_and_edges() -> None:
    # sqrt'(0) = inf: a non-zero tangent gives inf, a zero tangent stays zero
    _, push = pushforward(trace(lambda x: np.sqrt(x)), np.array([0.0, 4.0]))
    np.testing.assert_array_equal(push(np.array([1.0, 1.0])), np.array([np.inf, 0.25]))
    np.testing.assert_array_equal(push(np.array([0.0, 1.0])), np.array([0.0, 0.25]))
    f = trace(lambda x: np.where(x > 0, np.sqrt(np.abs(x)), 0.0))
    _, push = pushforward(f, np.array([0.0, -1.0, 4.0]))
    np.testing.assert_array_equal(push(np.ones(3)), np.array([0.0, 0.0, 0.25]))
    assert jvp(pb.relu, (0.0,), (1.0,)) == (0.0, 0.0)  # relu'(0) = 0
    y, dy = jvp(pb.exp, (1000.0,), (1.0,))
    assert y == np.inf
    assert dy == np.inf


def test_zero_d_arrays_and_empty_arrays() -> None:
    _, dy = jvp(pb.exp, (np.array(0.0),), (np.array(2.0),))
    assert type(dy) is np.ndarray
    assert dy.shape == ()
    assert float(dy) == 2.0
    _, dy = jvp(pb.exp, (np.zeros(0),), (np.zeros(0),))
    assert dy.shape == (0,)
    assert jacobian_forward(pb.exp, np.zeros((0, 2))).shape == (0, 2, 0, 2)


def test_a_pullback_that_cannot_be_traced_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"pushforward\(opaque_cube\): forward mode needs a "):
        pushforward(opaque_cube, 2.0)
    with pytest.raises(TypeError, match="traced function"):
        jvp(opaque_cube, (2.0,), (1.0,))

    def constant_cotangent(x: float) -> tuple[float, Callable[[float], float]]:
        return x * x, lambda dy: 2.0 * x  # ignores dy: not linear in it

    with pytest.raises(TypeError, match="does not depend on the cotangent"):
        pushforward(constant_cotangent, 2.0)
    # a user's rule written with NumPy operations on dy is traceable
    assert jvp(cube, (2.0,), (1.0,)) == (8.0, 12.0)


def test_bad_calls_are_refused_where_they_arrive() -> None:
    # Calls that mypy refuses (tests/typing/check_forward.py), made at run time.
    untyped: Any = pushforward
    _, push = untyped(pb.exp, X3)
    with pytest.raises(TypeError, match="array of shape"):
        push(1.0)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        push(np.ones(2))
    with pytest.raises(TypeError, match="takes 1 tangent"):
        push(V3, V3)
    _, push = untyped(pb.exp, 1.0)
    with pytest.raises(TypeError, match="must be a float"):
        push(np.ones(3))
    with pytest.raises(TypeError, match="expected a value"):
        push("1.0")
    assert push(2) == pytest.approx(2.0 * np.e)  # an int is a float
    assert repr(push) == "<pushforward of exp>"
    with pytest.raises(TypeError, match="expected a value"):
        untyped(pb.exp, "1.0")
    with pytest.raises(TypeError, match="no argument"):
        untyped(pb.exp)
    with pytest.raises(TypeError, match="rule"):
        untyped(3.0, 1.0)
    untyped_jvp: Any = jvp
    with pytest.raises(TypeError, match="must be a tuple"):
        untyped_jvp(pb.exp, 1.0, (1.0,))
    with pytest.raises(TypeError, match="1 primal but 2 tangents"):
        untyped_jvp(pb.exp, (1.0,), (1.0, 2.0))
    with pytest.raises(ValueError, match="shape"):
        hvp(pb.tanh, X3, np.ones(2))
    with pytest.raises(TypeError, match="structure"):
        hvp(trace(lambda p: np.sum(p["a"])), {"a": X3}, X3)


# -- random traced programs: the jvp against differences and the gradient --------------------

# Bounded steps (nested exponentials overflow to inf, where no comparison means anything).
_UNARY: list[Callable[[Any], Any]] = [np.sin, np.tanh, np.arctan, np.cos, lambda z: np.tanh(z) ** 2]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(range(len(_UNARY))), st.sampled_from(["add", "mul", "sum"])),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3),
    st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3),
)
def test_random_traced_programs(
    program: list[tuple[int, str]], x0: list[float], v0: list[float]
) -> None:
    def f(x: Any) -> Any:
        z = x
        for unary, binary in program:
            u = _UNARY[unary](z)
            if binary == "add":
                z = u + x
            elif binary == "mul":
                z = u * x
            else:
                z = u + np.sum(u * x) * 0.1
        return z

    rule = trace(f)
    x, v = np.array(x0), np.array(v0)
    _, push = pushforward(rule, x)
    dy = push(v)
    np.testing.assert_allclose(dy, jacobian(rule, x) @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dy, numerical_jvp(rule, x, v, 1e-3), rtol=1e-5, atol=1e-7)
    # <push(v), w> == <v, back(w)>: the transpose of the pullback
    w = np.cos(np.arange(3.0))
    _, back = pb.pullback(rule, x)
    assert float(dy @ w) == pytest.approx(float(v @ back(w)), rel=1e-12, abs=1e-12)
    scalar = trace(lambda t: np.sum(f(t)))
    assert hvp(scalar, x, v) == pytest.approx(hessian(scalar, x) @ v, rel=1e-10, abs=1e-10)


def test_float_jvp_against_five_point_differences() -> None:
    f = trace(lambda t: np.exp(np.sin(t)) / (1.0 + t * t))
    for t in (-1.3, 0.0, 0.4, 2.5):
        _, dy = jvp(f, (t,), (1.0,))
        assert dy == pytest.approx(five_point(lambda s: f(s)[0], t, 1e-3), rel=1e-9)


def test_a_network_loss_with_the_library_network_operations() -> None:
    rng = np.random.default_rng(5)
    inputs = rng.normal(size=(4, 3))
    labels = np.eye(3)[[0, 2, 1, 1]]

    def loss(params: Any) -> Any:
        hidden = pb.ops.relu(pb.ops.affine(inputs, params["w1"], params["b1"]))
        return pb.ops.softmax_cross_entropy(hidden @ params["w2"], labels)

    f = trace(loss)
    params: Any = {"w1": rng.normal(size=(3, 5)), "b1": rng.normal(size=5)}
    params["w2"] = rng.normal(size=(5, 3))
    tangent: Any = {key: rng.normal(size=value.shape) for key, value in params.items()}
    _, dy = jvp(f, (params,), (tangent,))
    g: Any = gradient(f, params)
    assert dy == pytest.approx(sum(float(np.sum(g[k] * tangent[k])) for k in params), rel=1e-12)


def test_jacobian_forward_inside_traced_code_and_push_from_threads() -> None:
    f = trace(lambda x: np.sin(x) * x[::-1])
    x = np.array([0.2, 0.5, 0.9])
    # the derivative of a forward Jacobian is that of the reverse one
    forward = jacobian(trace(lambda t: jacobian_forward(f, t)), x)
    reverse = jacobian(trace(lambda t: jacobian(f, t)), x)
    assert forward.shape == (3, 3, 3)
    np.testing.assert_allclose(forward, reverse, rtol=1e-14, atol=1e-15)
    _, push = pushforward(f, x)
    results: list[Any] = []

    def work() -> None:
        for _ in range(25):
            results.append(push(np.ones(3)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 100
    assert all(np.array_equal(r, results[0]) for r in results)


def test_third_derivatives_through_hvp_in_traced_code() -> None:
    f = trace(lambda x: np.sin(x) * x)  # f''' = -3 sin x - x cos x
    x = 0.7
    assert gradient(trace(lambda t: hvp(f, t, 1.0)), x) == pytest.approx(
        -3 * np.sin(x) - x * np.cos(x), rel=1e-14
    )
    g = trace(lambda z: np.sum(np.sin(z) * z))
    z = np.array([0.7, 0.2])
    np.testing.assert_allclose(
        gradient(trace(lambda t: np.sum(hvp(g, t, np.ones(2)))), z),
        -3 * np.sin(z) - z * np.cos(z),
        rtol=1e-14,
    )


def test_jacobian_modes_agree() -> None:
    f = pb.trace(lambda x: np.outer(np.sin(x), x))  # R^2 -> R^(2x2): auto picks forward
    x = np.array([0.3, 0.7])
    reverse = pb.jacobian(f, x, mode="reverse")
    np.testing.assert_allclose(pb.jacobian(f, x, mode="forward"), reverse, rtol=1e-14)
    np.testing.assert_allclose(pb.jacobian(f, x), reverse, rtol=1e-14)
    assert pb.jacobian(pb.sin, 0.5, mode="forward") == pb.jacobian(pb.sin, 0.5)
    with pytest.raises(ValueError, match=r"^jacobian: mode must be"):
        pb.jacobian(pb.sin, 0.5, mode="sideways")  # type: ignore[call-overload]
    # forward mode of the network rules (their entries' vjps, traced)
    logits, labels = np.array([[0.1, 2.0, -1.0]]), np.array([[0.0, 1.0, 0.0]])
    loss, dy = pb.jvp(pb.softmax_cross_entropy, (logits, labels), (logits, 0.0 * labels))
    direction = pb.gradient(pb.trace(lambda z: pb.ops.softmax_cross_entropy(z, labels)), logits)
    assert dy == pytest.approx(float(np.sum(direction * logits)), rel=1e-12)
    assert loss == pytest.approx(float(pb.softmax_cross_entropy(logits, labels)[0]), rel=1e-14)
