"""What ratio to the matmul floor this machine allows outside Keras: a VAE training step written by hand in JAX.

    KERAS_BACKEND=jax python benchmarks/reference_step.py     # cores free; writes results/reference_step.json
    KERAS_BACKEND=jax python benchmarks/reference_step.py --preset iwae --batch-size 20   # the IWAE protocol's step

The speed criteria ask for a step within 1.5x of its matmul floor (the step's
products at NumPy's rate, `mnistbench.floor`). This times the smallest honest
step of the `wide` VAE (784-512-256-32, ReLU, batch 128; `--preset iwae`: the
IWAE protocol's 784-200-200-50 tanh net, at its batch of 20): the products, the
reparameterised sample, the Bernoulli likelihood and the analytic KL, Adam, the
batch binarised in the step, one jitted function with its state donated, no
Keras and no input pipeline. Its ratio is a bound on what any library's step
reaches here; the Keras rows of the tables are read beside it.
"""

import argparse
import functools
import json
import pathlib
import statistics
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mnistbench import floor  # noqa: E402
from mnistbench.run import environment  # noqa: E402
from mnistbench.spec import PRESETS  # noqa: E402


def floor_seconds(g, batch, trials=5):
    """One step's floor as the tables compute it: its FLOPs at the matmul rate of its products."""
    return floor.training_flops_per_example(g) * batch / (floor.matmul_gflops(g, batch, trials=trials) * 1e9)


def vae_step(sizes, latent, activation="relu", adam_epsilon=1e-7):
    """``(init(key), step(state, x, key))``: the VAE's jitted training step on an ``(params, m, v, t)`` state."""
    import jax
    import jax.numpy as jnp

    act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[activation]

    shapes = list(zip(sizes, sizes[1:])) + [(sizes[-1], 2 * latent), (latent, sizes[-1])]
    shapes += [(a, b) for b, a in reversed(list(zip(sizes, sizes[1:])))]
    depth = len(sizes) - 1

    def init(key):
        params = [(jax.random.normal(k, s) / np.sqrt(s[0]), jnp.zeros(s[1]))
                  for k, s in zip(jax.random.split(key, len(shapes)), shapes)]
        zeros = jax.tree.map(jnp.zeros_like, params)
        return params, zeros, jax.tree.map(jnp.zeros_like, params), jnp.zeros(())

    def dense(h, layers):
        for w, b in layers:
            h = act(h @ w + b)
        return h

    def loss(params, x, key):
        mean, logvar = jnp.split(dense(x, params[:depth]) @ params[depth][0] + params[depth][1], 2, axis=-1)
        z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape)
        logits = dense(z, params[depth + 1:-1]) @ params[-1][0] + params[-1][1]
        reconstruction = jnp.sum(jnp.maximum(logits, 0) - logits * x + jnp.log1p(jnp.exp(-jnp.abs(logits))), -1)
        kl = -0.5 * jnp.sum(1 + logvar - mean ** 2 - jnp.exp(logvar), axis=-1)
        return jnp.mean(reconstruction + kl)

    @functools.partial(jax.jit, donate_argnums=(0,))
    def step(state, x, key):
        params, m, v, t = state
        key, sample, binarise = jax.random.split(key, 3)
        x = (jax.random.uniform(binarise, x.shape) < x).astype(jnp.float32)
        value, grads = jax.value_and_grad(loss)(params, x, sample)
        t = t + 1
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        rate = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        params = jax.tree.map(lambda p, m, v: p - rate * m / (jnp.sqrt(v) + adam_epsilon), params, m, v)
        return (params, m, v, t), key, value

    return init, step


def step_seconds(sizes, latent, batch, steps, trials, **step_options):
    """The hand-written step's best time per step over `trials` runs of `steps` steps (dispatched asynchronously,
    waited for at the end, as Keras' loop runs them)."""
    import jax

    init, step = vae_step(sizes, latent, **step_options)
    x = jax.numpy.asarray(np.random.default_rng(0).random((batch, sizes[0]), dtype=np.float32))
    carry = [init(jax.random.key(0)), jax.random.key(1)]

    def run():
        for _ in range(steps):
            carry[0], carry[1], value = step(carry[0], x, carry[1])
        jax.block_until_ready(value)

    return floor.best_seconds(run, trials) / steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=["wide", "iwae"], default="wide")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default=None, help="default: results/reference_step.json, reference_step-<preset>.json")
    args = p.parse_args(argv)
    import ladderae

    preset = PRESETS[args.preset]
    sizes, latent = [784, *preset["encoder"]], preset["latent_dim"]
    options = {"activation": preset["activation"], "adam_epsilon": 1e-4 if args.preset == "iwae" else 1e-7}
    g = ladderae.LadderAE(input_shape=(784,), encoder=preset["encoder"], latent_dim=latent, pairing="none",
                          activation=preset["activation"]).graph
    out = args.out or HERE / "results" / ("reference_step.json" if args.preset == "wide" else
                                          f"reference_step-{args.preset}.json")
    rounds = []
    for _ in range(args.rounds):  # floor and step in turn: a busy spell of the machine shows as a round apart
        floor_s = floor_seconds(g, args.batch_size, trials=args.trials)
        step_s = step_seconds(sizes, latent, args.batch_size, args.steps, args.trials, **options)
        xla_s = floor.compiled_products_seconds(floor.timed_products(g, args.batch_size), trials=args.trials,
                                                repeats=30)
        rounds.append({"step_ms": 1e3 * step_s, "floor_ms": 1e3 * floor_s, "x_floor": step_s / floor_s,
                       "xla_products_ms": 1e3 * xla_s})
        print(f"hand-written JAX step: {rounds[-1]['step_ms']:.2f} ms against a floor of {rounds[-1]['floor_ms']:.2f} "
              f"ms (x{rounds[-1]['x_floor']:.2f}), batch {args.batch_size}; the floor's products in one jitted call "
              f"{1e3 * xla_s:.2f} ms", flush=True)
    net = "-".join(map(str, sizes + [latent]))
    result = {"model": f"{args.preset} VAE {net} {preset['activation']}, hand-written JAX step",
              "batch_size": args.batch_size,
              "steps": args.steps, "trials": args.trials, "rounds": rounds,
              "median_x_floor": statistics.median(r["x_floor"] for r in rounds), "environment": environment()}
    pathlib.Path(out).write_text(json.dumps(result, indent=1))
    print(f"median x{result['median_x_floor']:.2f} over {args.rounds} rounds; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
