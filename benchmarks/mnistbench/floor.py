"""The compute floor of one training epoch, read off the model's graph.

Every node of a `LadderAE(...).graph` names the layer that makes it (``layer``,
``shape``, ``kernel_size``); each layer is one matrix multiply per example (a
conv layer in its im2col form, a transposed conv in its col2im form). A pair
kind may add layers of its own (a stochastic pair: its posterior and prior
heads and the projection back to d_i's width); they are counted from the
layers the kind itself makes for that edge, so the floor follows the kind. A
training step computes each product forward, its weight gradient and its input
gradient, 2 FLOP per multiply-add each, except the input gradient of the first
layer, which reads the data: nothing asks for it, and autodiff does not compute
it (counting it, as "3x the forward" would, put the floor 10-15% too high for
these MLPs, whose first layer holds a third of the weights). The floor is that
work at the machine's own float32 matmul rate at those shapes (NumPy/OpenBLAS,
the same products, best of several trials), measured once and kept beside the runs.
"""

import json
import math
import time

import keras

from ladderae import graph as graph_lib
from ladderae import pair_kinds


def matmuls(g):
    """Per example, one ``(rows, inner, out)`` product per layer, the pairs' own layers last: rows * inner * out
    multiply-adds each. The first is the first layer's, on the data."""
    return _node_matmuls(g) + _pair_matmuls(g)


def _backward_products(index):
    """How many backward products a training step computes for product `index` of `matmuls`: the weight gradient,
    and the input gradient unless its input is the data (the first)."""
    return 1 if index == 0 else 2


def _node_matmuls(g):
    """The products of the graph's nodes, input to output."""
    out = []
    for node in graph_lib.flow_order(g)[1:]:
        attrs = g.nodes[node]
        below = g.nodes[graph_lib.flow_predecessor(g, node)]["shape"]
        if attrs["layer"] == "dense":
            heads = 2 if node == graph_lib.LATENT and g.graph["variational"] else 1  # mean and log-variance
            out.append((1, math.prod(below), heads * attrs["units"]))
        elif attrs["layer"] == "conv":
            height, width, filters = attrs["shape"]
            out.append((height * width, math.prod(attrs["kernel_size"]) * below[-1], filters))
        elif attrs["layer"] == "conv_transpose":
            out.append((below[0] * below[1], below[-1], math.prod(attrs["kernel_size"]) * attrs["shape"][-1]))
        else:
            raise ValueError(f"No floor for node {node!r}: unknown layer kind {attrs['layer']!r}.")
    return out


def _pair_matmuls(g):
    """One ``(1, inner, out)`` product per Dense layer that each pair's kind makes (and builds) for its edge.

    The kind's other layers (a lateral pair's combinator) work unit by unit:
    they multiply no matrices, so they add nothing to the floor.
    """
    out = []
    for encoder, decoder, data in graph_lib.pairs(g):
        kind = pair_kinds.get(data["pair_kind"])
        layers = kind.make_layers(g, encoder, decoder, data)
        if not layers:  # e.g. a latent pair at the top: the bottleneck z, already a node
            continue
        kind.build_layers(g, encoder, decoder, layers)
        out += [(1, *layer.kernel.shape) for layer in layers.values() if isinstance(layer, keras.layers.Dense)]
    return out


def _below_z(g):
    """How many of the first products of `matmuls` are the layers below z (run once per example under ``iwae``)."""
    return graph_lib.flow_order(g).index(graph_lib.LATENT) - 1


def training_flops_per_example(g, samples=1):
    """2 FLOP per multiply-add of each product forward and of each backward product a step computes; with
    `samples` (the ``iwae`` objective's k) the layers below z count once and z, the decoder and the pairs' layers
    `samples` times, as the model runs them."""
    below_z = _below_z(g)
    return sum(2 * (1 + _backward_products(i)) * rows * inner * out * (1 if i < below_z else samples)
               for i, (rows, inner, out) in enumerate(matmuls(g)))


def product_shapes(rows, inner, width, backward):
    """The ``(a shape, b shape)`` products of a ``rows x inner`` by ``inner x width`` layer in a training step: the
    forward one, then the first `backward` of its weight gradient and its input gradient."""
    return (((rows, inner), (inner, width)), ((inner, rows), (rows, width)), ((rows, width), (width, inner)))[
        : 1 + backward]


def timed_products(g, batch, samples=1):
    """The ``(a shape, b shape)`` products of one training step at `batch`: each layer forward, its weight gradient
    and (not for the first) its input gradient; with `samples`, z and what lies above it on ``batch * samples``
    rows, as the ``iwae`` objective runs them (larger products run at a higher rate: timing them at `batch` rows
    would put the floor too high)."""
    below_z, out = _below_z(g), []
    for i, (rows, inner, width) in enumerate(matmuls(g)):
        out += product_shapes(batch * rows * (1 if i < below_z else samples), inner, width, _backward_products(i))
    return out


def matmul_gflops(g, batch, samples=1, repeats=30, trials=5):
    """The machine's float32 matrix-multiply rate over one training step's products (`timed_products`).

    Each product is timed `trials` times (`repeats` calls each) and its best
    trial counts: on a shared machine the floor is what the cores can do, not
    what other jobs left over.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    flops, seconds = 0, 0.0
    for a_shape, b_shape in timed_products(g, batch, samples):
        a, b = rng.random(a_shape, dtype=np.float32), rng.random(b_shape, dtype=np.float32)

        def run():
            for _ in range(repeats):
                a @ b

        seconds += best_seconds(run, trials)
        flops += 2 * a_shape[0] * a_shape[1] * b_shape[1] * repeats
    return flops / seconds / 1e9


def saved_matmul_gflops(folder, name, g, batch, samples=1, **timing):
    """`matmul_gflops`, measured once and kept in `folder` under `name` (a preset, or a row of the hierarchical
    table) and `samples`, so that a resumed benchmark reports the same floor; `timing` goes to `matmul_gflops`."""
    path = folder / f"floor-{name}-b{batch}{'' if samples == 1 else f'-k{samples}'}.json"
    if not path.exists():
        rate = matmul_gflops(g, batch, samples, **timing)
        path.write_text(json.dumps({"preset": name, "batch": batch, "samples": samples, "matmul_gflops": rate}))
    return json.loads(path.read_text())["matmul_gflops"]


def epoch_floor_seconds(g, examples, gflops, samples=1):
    """Seconds one epoch of `examples` training examples cannot go below at `gflops` (`samples`: as in
    `training_flops_per_example`)."""
    return examples * training_flops_per_example(g, samples) / (gflops * 1e9)


def compiled_products_seconds(shapes, trials=5, repeats=20):
    """Best time of the products `shapes` (``(a shape, b shape)`` pairs) as one function of this Keras backend,
    jitted on JAX: whether the backend's own matmuls run at the floor's NumPy rate here."""
    import numpy as np
    from keras import ops

    rng = np.random.default_rng(0)
    operands = [(ops.convert_to_tensor(rng.random(a, dtype=np.float32)),
                 ops.convert_to_tensor(rng.random(b, dtype=np.float32))) for a, b in shapes]

    def products(operands):
        return [ops.matmul(a, b) for a, b in operands]

    if keras.backend.backend() == "jax":
        import jax

        products = jax.jit(products)

    def run():
        for _ in range(repeats):
            results = products(operands)
        ops.convert_to_numpy(results[-1])  # waits for the dispatched work

    return best_seconds(run, trials) / repeats


def best_seconds(f, trials):
    """The best of `trials` timed calls of `f`, after one untimed call (it compiles): on a shared machine the best
    is what the cores can do."""
    f()
    return min(_timed(f) for _ in range(trials))


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start
