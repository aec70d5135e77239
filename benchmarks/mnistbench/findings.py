"""The figures in the benchmark notes' prose, computed from the committed results JSON, never typed by hand.

benchmarks/README.md and README.md hold regions between ``<!-- generated: NAME -->`` and ``<!-- end -->``;
`render` fills each with ``FINDINGS[NAME](results)``, a paragraph or table built from `benchmarks/results/`
(each folder's results.json, runs and speed files), with the means, standard deviations and paired differences of
`report` (the arithmetic behind the results tables), so prose and tables cannot drift apart.
`python benchmarks/findings.py` rewrites the regions; `--check` names the ones that differ (the tests run it).
"""

import functools
import json
import pathlib
import re
import textwrap

from mnistbench import report
from mnistbench.spec import BASELINE, LVAE, MATCHED, MATCHED_AS_LVAE, NO_PAIRS

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "results"
REGION = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end -->)", re.S)
MIRROR = "mirror, none"
IWAE_ROW = "IWAE k=50, no pairs"
NOTES = "benchmarks/README.md"


class Results:
    """The committed results under `root`: any JSON file (`file`, read once), a folder's results.json (`results`),
    one row's runs by seed (`runs`) and its summary entry (`summary`)."""

    def __init__(self, root=RESULTS):
        self.root = pathlib.Path(root)
        self._read = {}

    def file(self, path):
        if path not in self._read:
            self._read[path] = json.loads((self.root / path).read_text())
        return self._read[path]

    def results(self, folder=""):
        return self.file(f"{folder}/results.json" if folder else "results.json")

    def runs(self, folder, row, backend=None, preset=None):
        """{seed: run} of `row` in `folder` (on `backend` and `preset` where given)."""
        found = {r["spec"]["seed"]: r for r in self.results(folder)["runs"]
                 if r["spec"]["row"] == row and backend in (None, r["spec"]["backend"])
                 and preset in (None, r["spec"]["preset"])}
        if not found:
            raise LookupError(f"no runs of {row!r} ({backend}, {preset}) in {folder or '.'}/results.json")
        return found

    def summary(self, folder, row, backend=None, preset=None):
        """The summary entry of `row` in `folder` (mean ± sd of each figure, paired deltas to the baseline)."""
        for entry in self.results(folder)["summary"]:
            if entry["row"] == row and backend in (None, entry["backend"]) and preset in (None, entry["preset"]):
                return entry
        raise LookupError(f"no summary of {row!r} ({backend}, {preset}) in {folder or '.'}/results.json")


@functools.cache
def default_results():
    """The committed results, read once per process."""
    return Results()


# ----------------------------------------------------------------- formatting (no arithmetic)


nats = report.fmt  # ``88.73 ± 0.16``: a mean ± sd at the tables' precision
delta = report.signed  # ``+0.05 ± 0.17``: a paired difference, signed (negative = the first row better)


def signed(values, digits=2):
    """``+0.24, +0.02, -0.10``: per-seed values in seed order."""
    return ", ".join(f"{v:+.{digits}f}" for v in values)


def spread_word(pair):
    """Whether a paired difference is smaller than its spread over seeds (then no effect is shown) or not."""
    return "smaller than its spread over seeds" if abs(pair[0]) < pair[1] else "larger than its spread over seeds"


def estimator(run):
    """The IWAE estimator a run was scored with."""
    return f"k={run['iwae_k']:,} on {run['iwae_images']:,} test digits"


# ----------------------------------------------------------------- paired differences


def paired(runs, base, figure="iwae_nll"):
    """(mean ± sd pair, per-seed list, seeds) of `figure` of `runs` minus `base`, seed by seed."""
    differences = report.paired_differences(runs, base, figure)
    return report.mean_std(differences.values()), [differences[s] for s in sorted(differences)], len(differences)


def compare(runs, base, figure="iwae_nll"):
    """``+0.05 ± 0.17 (per seed +0.24, +0.02, -0.10)``."""
    pair, per_seed, _ = paired(runs, base, figure)
    return f"{delta(pair)} (per seed {signed(per_seed)})"


# ----------------------------------------------------------------- the findings


def main_table(res):
    """The main table's bullet points (10 epochs, batch 128)."""
    def runs(row, backend="jax", preset="wide"):
        return res.runs("", row, backend, preset)

    base_tf = runs(BASELINE, "tensorflow")
    same = [paired(runs(NO_PAIRS, "tensorflow"), base_tf, figure)[1] for figure in ("neg_elbo", "iwae_nll")]
    identical = ("the same -ELBO and IWAE bound in every seed" if not any(same[0] + same[1]) else
                 f"Δ -ELBO {compare(runs(NO_PAIRS, 'tensorflow'), base_tf, 'neg_elbo')}")
    run = next(iter(base_tf.values()))
    budget = run["spec"]
    speed = {(c["row"], c["backend"]): c for c in res.results()["speed"]["configs"]}
    jax_rows = [c for c in speed.values() if c["backend"] == "jax"]
    local = speed[("mirror, local", "jax")]["median_epoch_seconds"] / speed[(NO_PAIRS, "jax")]["median_epoch_seconds"]
    conv = paired(runs(MIRROR, preset="conv"), runs(NO_PAIRS, preset="conv"), "neg_elbo")[0]
    iwae_elbo = paired(runs(MIRROR, preset="iwae"), runs(NO_PAIRS, preset="iwae"), "neg_elbo")[0]
    return "\n".join([
        f"Budget: {budget['epochs']} epochs at batch {budget['batch_size']}, {len(base_tf)} seeds per row; IWAE bound "
        f"with {estimator(run)}. Δ: the paired difference in nats, seed by seed (negative = the first row better).",
        "",
        f"- **Sanity check.** `{NO_PAIRS}` on TensorFlow against the Keras VAE (`wide`): {identical}; on JAX, "
        f"Δ -ELBO {compare(runs(NO_PAIRS), base_tf, 'neg_elbo')}.",
        f"- **Layer matching.** `{MIRROR}` against the Keras VAE on `wide`: Δ -ELBO "
        f"{compare(runs(MIRROR), base_tf, 'neg_elbo')} and Δ IWAE {compare(runs(MIRROR), base_tf)} on JAX. On "
        f"`iwae` (tanh), against `{NO_PAIRS}` on the same backend: Δ -ELBO {delta(iwae_elbo)}, Δ IWAE "
        f"{compare(runs(MIRROR, preset='iwae'), runs(NO_PAIRS, preset='iwae'))}.",
        f"- **A backend gap.** On `iwae`, `{NO_PAIRS}` on JAX against the Keras VAE on TensorFlow: Δ -ELBO "
        f"{compare(runs(NO_PAIRS, preset='iwae'), runs(BASELINE, 'tensorflow', 'iwae'), 'neg_elbo')}. The same "
        "code agrees with the baseline on one backend, so this is JAX against TensorFlow (other random streams and "
        "kernels): read the `iwae` pair rows against the no-pair row of their backend.",
        f"- **Conv preset.** `{MIRROR}` against `{NO_PAIRS}`: Δ -ELBO {delta(conv)} ({spread_word(conv)}).",
        f"- **Speed** (the paired section): `{NO_PAIRS}` on JAX runs at "
        f"{speed[(NO_PAIRS, 'jax')]['ratio']:.2f}x the Keras VAE on TensorFlow; `mirror, local`, which re-runs the "
        f"layers inside each pair, takes {local:.2f}x the epoch of `{NO_PAIRS}` on JAX; the JAX rows run at "
        f"{min(c['x_floor'] for c in jax_rows):.2f}-{max(c['x_floor'] for c in jax_rows):.2f}x the matmul floor "
        "(as that section's floor counts it).",
    ])


BUDGETS = [("", "iwae"), ("iwae_protocol_4stages", None), ("iwae_protocol", None), ("iwae_protocol_6stages", None)]


def budget_table(res):
    """`mirror, none` against no pairs and against the Keras VAE on the IWAE net, at every budget that has both."""
    lines = [f"| epochs | batch | seeds | IWAE bound | `{MIRROR}` − `{NO_PAIRS}` (nats) | `{MIRROR}` − Keras VAE "
             "(nats) | Keras VAE's backend |", "|---|---|---|---|---|---|---|"]
    last = None
    for folder, preset in BUDGETS:
        mirror, no_pairs = res.runs(folder, MIRROR, "jax", preset), res.runs(folder, NO_PAIRS, "jax", preset)
        base = res.runs(folder, BASELINE, preset=preset)
        run = next(iter(mirror.values()))
        last = (run["spec"]["epochs"], paired(mirror, no_pairs)[0], paired(mirror, base)[0])
        lines.append(f"| {run['spec']['epochs']} | {run['spec']['batch_size']} | {len(mirror)} | {estimator(run)} "
                     f"| {compare(mirror, no_pairs)} | {compare(mirror, base)} "
                     f"| {next(iter(base.values()))['spec']['backend']} |")
    epochs, against_no_pairs, against_base = last
    return "\n".join(lines + ["", f"At {epochs} epochs `{MIRROR}` differs from `{NO_PAIRS}` by "
                                  f"{delta(against_no_pairs)} nats ({spread_word(against_no_pairs)}) and from the "
                                  f"Keras VAE by {delta(against_base)} ({spread_word(against_base)})."])


def long_runs(res):
    """Where the 6-stage rows end, against the paper and against 5 stages."""
    six, five = "iwae_protocol_6stages", "iwae_protocol"
    base = res.summary(six, BASELINE)
    drops = [res.summary(five, row)["iwae_nll"][0] - res.summary(six, row)["iwae_nll"][0]
             for row in (BASELINE, NO_PAIRS, MIRROR)]
    paper = report.PAPER_8_STAGES["VAE"]
    gap = paired(res.runs(six, NO_PAIRS), res.runs(six, BASELINE))[0]
    return (f"At {base['epochs']} epochs the Keras VAE's IWAE bound is {nats(base['iwae_nll'])} nats, "
            f"{base['iwae_nll'][0] - paper:.2f} above the paper's {paper:.2f} after 3,280 epochs; tripling the "
            f"epochs from {res.summary(five, BASELINE)['epochs']} took {min(drops):.2f}-{max(drops):.2f} nats off "
            f"the rows' means. `{NO_PAIRS}` stays {delta(gap)} from the independent Keras VAE, paired by seed.")


def eight_stages(res):
    """The IWAE paper's whole protocol (8 stages, 3,280 epochs), seed 0 of two rows: how far each ends from the
    paper's 86.76, held to the half nat the issue set, and what the last two stages took off the 6-stage mean."""
    eight, six = "iwae_protocol_8stages", "iwae_protocol_6stages"
    paper = report.PAPER_8_STAGES["VAE"]
    parts, near = [], []
    for row in (BASELINE, NO_PAIRS):
        (run,) = res.runs(eight, row).values()
        bound, (six_mean, six_sd) = run["iwae_nll"], res.summary(six, row)["iwae_nll"]
        near.append(abs(bound - paper) <= 0.5)
        parts.append(f"`{row}` {bound:.2f} nats, {bound - paper:+.2f} from the paper's {paper:.2f} and "
                     f"{six_mean - bound:.2f} below its own 6-stage mean, whose seeds spread {six_sd:.2f}")
    verdict = ("both within 0.5 nat of it: the protocol reproduces the paper's figure" if all(near) else
               "neither within 0.5 nat of it: the protocol does not reproduce the paper's figure" if not any(near)
               else "one of them within 0.5 nat of it")
    return (f"At the paper's budget ({run['spec']['epochs']:,} epochs, one seed, {estimator(run)}): "
            + "; ".join(parts) + f"; {verdict}.")


def iwae_objective(res):
    """The IWAE objective (k=50) at 4 stages against the Keras VAE, and pairs added to it."""
    four = "iwae_protocol_4stages"
    iwae, base = res.runs(four, IWAE_ROW), res.runs(four, BASELINE)
    entry = res.summary(four, IWAE_ROW)
    active = [r["active_units"] for r in iwae.values()], [r["active_units"] for r in base.values()]
    papers = report.PAPER_8_STAGES
    six = res.summary("iwae_protocol_6stages", BASELINE)
    return (f"`objective=\"iwae\", k=50` reaches an IWAE bound of {nats(entry['iwae_nll'])} nats at "
            f"{entry['epochs']} epochs, Δ {compare(iwae, base)} against the Keras VAE of the same budget "
            f"(the paper's gap at 3,280 epochs: {papers['IWAE k=50'] - papers['VAE']:.2f}, its IWAE figure quoted, "
            f"not checked), and {entry['iwae_nll'][0] - six['iwae_nll'][0]:+.2f} against the Keras VAE at "
            f"{six['epochs']} epochs. It does not maximise the ELBO: its -ELBO is Δ "
            f"{compare(iwae, base, 'neg_elbo')}, with {min(active[0]):.0f}-{max(active[0]):.0f} active units against "
            f"{min(active[1]):.0f}-{max(active[1]):.0f}. Pairs on top of it, `IWAE k=50 + {MIRROR}` against "
            f"`{IWAE_ROW}`: Δ IWAE {compare(res.runs(four, 'IWAE k=50 + ' + MIRROR), iwae)}.")


def protocol_speed(res):
    """The step cost at batch 20 with the cores free, the k sweep and the hand-written reference step."""
    four = res.results("iwae_protocol_4stages")
    speed = {c["row"]: c for c in four["speed"]}
    sweep = four["k_sweep"]
    reference = res.file("reference_step-iwae.json")
    one, iwae = speed[NO_PAIRS], speed[IWAE_ROW]
    growth = sweep[-1]["ms_per_step"] / sweep[0]["ms_per_step"]
    return (f"With the cores free, a `{NO_PAIRS}` step takes {one['ms_per_step']:.2f} ms, {one['x_floor']:.2f}x its "
            f"matmul floor; the IWAE objective at k=50 runs the layers below z once and z and the decoder on 50 "
            f"copies of the batch: {iwae['ms_per_step']:.2f} ms, {iwae['x_floor']:.2f}x its own floor. From "
            f"k={sweep[0]['k']} to k={sweep[-1]['k']} the step grows {growth:.1f}x "
            f"(the fixed costs of a step dominate at small k). The ratio to the floor at k=1 is not Keras' cost: a "
            f"hand-written JAX step of the same net (`benchmarks/reference_step.py --preset iwae --batch-size 20`, "
            f"no Keras) runs at a median {reference['median_x_floor']:.2f}x its floor over {len(reference['rounds'])} "
            "rounds.")


def hierarchical(res):
    """The Ladder VAE against one latent: the paired bound, the KL per layer and the speed with the cores free."""
    h = "hierarchical"
    lvae, base, sized = res.runs(h, LVAE), res.runs(h, BASELINE), res.runs(h, MATCHED)
    trained_alike = res.runs(h, MATCHED_AS_LVAE)
    entry = res.summary(h, LVAE)
    layers = [k.removeprefix("kl_") for k in entry if k.startswith("kl_")]
    speed = {c["row"]: c for c in res.results(h)["speed"]}
    reference = res.file("reference_step.json")
    x_floor = [r["x_floor"] for r in reference["rounds"]]
    training, hierarchy = paired(trained_alike, sized)[0], paired(lvae, trained_alike)[0]
    return (f"The Ladder VAE's IWAE bound ({estimator(next(iter(lvae.values())))}, over every latent layer) is "
            f"{nats(entry['iwae_nll'])} nats at {entry['epochs']} epochs: Δ {compare(lvae, base)} against the Keras "
            f"VAE and Δ {compare(lvae, sized)} against one latent with about its parameters (616-308), so the gain is "
            "not the parameters'. The same one latent trained as the LVAE is (batch norm, the same warm-up) ends at "
            f"{nats(res.summary(h, MATCHED_AS_LVAE)['iwae_nll'])}, so of the LVAE's Δ against 616-308, batch norm "
            f"and warm-up give {compare(trained_alike, sized)}, {spread_word(training)}, and the hierarchy, the one "
            f"difference left between the LVAE and that row, {compare(lvae, trained_alike)}, "
            f"{spread_word(hierarchy)}: at this budget "
            + (("most of the gain is the hierarchy's" if abs(hierarchy[0]) > abs(training[0])
                else "the hierarchy adds to the gain of its training")
               if hierarchy[0] < 0 and abs(hierarchy[0]) > hierarchy[1] else "no gain of the hierarchy's own is shown")
            + ". KL per layer (nats): "
            + ", ".join(f"{name} {nats(entry['kl_' + name])}" for name in layers)
            + ". The active-unit counts (posterior-mean variance above 0.01) call every unit of the lower layers "
            "active even where a layer's KL is near zero: its posterior mean varies, but its prior, which depends "
            "on the layers above, follows it; read the KL beside them. With the cores free the LVAE runs at "
            f"{speed[LVAE]['x_floor']:.2f}x its matmul floor, the Keras VAE at {speed[BASELINE]['x_floor']:.2f}x; "
            f"a hand-written JAX step of the wide VAE (`benchmarks/reference_step.py`: no Keras, no input pipeline) "
            f"at {min(x_floor):.2f}-{max(x_floor):.2f}x, median {reference['median_x_floor']:.2f}x over "
            f"{len(x_floor)} rounds.")


def ladder_runs(res):
    """{(row, labels, epochs): {draw: run}} of the Ladder network benchmark, each run with its test error in %."""
    groups = {}
    for r in res.file("ladder/results.json"):
        job = r["job"]
        percent = {key: 100 * r[key] for key in ("test_error", "test_error_running")}
        groups.setdefault((job["row"], job["labels"], job["epochs"]), {})[job["draw"]] = percent
    return groups


def labels_text(labels):
    """``1,000`` for a count of labels, ``all`` as it is."""
    return f"{int(labels):,}" if labels.isdigit() else labels


def ladder(res):
    """The Ladder network's test errors per draw, against the same network without a decoder, and its step speed."""
    groups = ladder_runs(res)

    def errors(key, figure="test_error"):
        values = [run[figure] for _, run in sorted(groups[key].items())]
        if len(values) == 1:
            return f"{values[0]:.2f} %"
        return f"{nats(report.mean_std(values))} % (per draw {', '.join(f'{v:.2f}' for v in values)})"

    full = max(epochs for _, labels, epochs in groups if labels == "100")
    ladder100, supervised = ("ladder", "100", full), ("supervised", "100", full)
    gain = paired(groups[ladder100], groups[supervised], "test_error")[0]
    reduced = sorted(key for key in groups if key[0] == "ladder" and key[2] != full)
    speed = res.file("ladder/speed-jax.json")
    lines = [f"At 100 labels and {full} epochs, over {len(groups[ladder100])} label draws, the ladder's test error is "
             f"{errors(ladder100)}; with the running batch-norm averages instead of statistics recomputed over the "
             f"training digits, {errors(ladder100, 'test_error_running')}. The same network with the same noise and "
             f"no decoder, trained on the same labels with the same budget, ends at {errors(supervised)}; paired "
             f"by draw, the ladder's decoder and its denoising costs on the unlabelled digits change the error by "
             f"{delta(gain)} points."]
    if reduced:
        lines.append("At a reduced budget, one label draw each: " + "; ".join(
            f"{errors(key)} with {labels_text(key[1])} labels at {key[2]} epochs" for key in reduced) + ".")
    lines.append(f"Speed (`--speed`, JAX, the cores free): one training step on {speed['rows_per_step']} rows in "
                 f"parts takes {1000 * speed['step_seconds']:.1f} ms against a jitted matmul floor of "
                 f"{1000 * speed['floor_seconds']:.1f} ms, {speed['ratio_to_floor']:.2f}x.")
    return " ".join(lines)


DIAMOND_ROWS = [("-ELBO, nats per row", ["neg_elbo"], 2), ("KL", ["kl"], 2),
                ("accuracy cut / color / clarity", ["accuracy_cut", "accuracy_color", "accuracy_clarity"], 3),
                ("RMSE carat / depth / table", ["rmse_carat", "rmse_depth", "rmse_table"], 3),
                ("RMSE price (USD)", ["rmse_price"], 0), ("RMSE x / y / z (mm)", ["rmse_x", "rmse_y", "rmse_z"], 3)]


def diamonds(res):
    """The diamonds table (examples/tabular_diamonds.py): each figure's mean (± sd for one figure) over seeds."""
    d = res.file("diamonds/results.json")
    plain, matched = d["mean_sd"]["plain VAE"], d["mean_sd"]["ladderae"]
    model = d["models"]["ladderae"]

    def cell(stats, keys, digits):
        if len(keys) == 1:
            return report.fmt(stats[keys[0]], digits)
        return " / ".join(f"{stats[k][0]:.{digits}f}" for k in keys)

    lines = [f"| test rows | plain VAE | ladderae ({model['pairing']}, {model['consistency_loss']}, "
             f"{model['consistency_weight']:g}) |", "|---|---|---|"]
    lines += [f"| {label} | {cell(plain, keys, digits)} | {cell(matched, keys, digits)} |"
              for label, keys, digits in DIAMOND_ROWS]
    runs = diamond_runs(d)
    elbo = paired(runs["ladderae"], runs["plain VAE"], "neg_elbo")[0]
    return "\n".join(lines + ["", f"{d['epochs']} epochs, {len(d['seeds'])} seeds, {d['backend']}; mean ± sd over "
                                  "seeds (the means alone where a cell has several columns). Paired by seed, the "
                                  "layer-matched model's -ELBO differs by "
                                  f"{compare(runs['ladderae'], runs['plain VAE'], 'neg_elbo')} nats per row, "
                                  f"{spread_word(elbo)}."])


def diamond_runs(d):
    """{model: {seed: run}} of the diamonds results (their runs are lists in seed order)."""
    return {name: dict(zip(d["seeds"], values)) for name, values in d["runs"].items()}


def conv_example(res):
    """examples/conv_vae_manifold.py's one run: plain against layer-matched conv VAE with a 2-D latent."""
    d = res.file("conv_vae/results.json")
    test = d["test"]
    return (f"One seed, {d['settings']['epochs']} epochs, JAX: test -ELBO {test['plain']['neg_elbo']:.2f} nats "
            f"plain, {test['matched']['neg_elbo']:.2f} layer-matched: one seed of each, so the difference is not a "
            "measured effect.")


def scaling(res):
    """benchmarks/scaling.py: throughput on N logical CPU devices against one, per backend."""
    d = res.file("scaling.json")
    parts = [f"{e['speedup']:.2f}x on {e['devices']} devices ({e['backend']})" for e in d["summary"]
             if e["devices"] > 1]
    return (f"On this {d['machine']['cores']}-core CPU, logical devices split the same cores, so no speed-up is "
            f"expected: {', '.join(parts)}, relative to one device, median over {d['settings']['rounds']} rounds.")


def headline(res):
    """README.md's results table: one row per model family, each against its baseline, with links."""
    six, four, h = "iwae_protocol_6stages", "iwae_protocol_4stages", "hierarchical"
    rows = []
    for label, folder, row, anchor in [
        (f"`LadderAE`, `{MIRROR}` pairs (IWAE paper's net)", six, MIRROR, "iwae-protocol"),
        ("`LadderAE`, no pairs (IWAE paper's net and whole protocol; the paper's VAE: "
         f"{report.PAPER_8_STAGES['VAE']:.2f})", "iwae_protocol_8stages", NO_PAIRS, "8-stages-3280-epochs"),
        ("`LadderAE`, `objective=\"iwae\", k=50`", four, IWAE_ROW, "iwae-protocol"),
        ("Ladder VAE, 5 latent layers", h, LVAE, "hierarchical-latents-ladder-vae"),
    ]:
        entry, base = res.summary(folder, row), res.summary(folder, BASELINE)
        pair, _, seeds = paired(res.runs(folder, row), res.runs(folder, BASELINE))
        rows.append(f"| {label} | MNIST, {entry['epochs']:,} epochs, {seeds} seed{'s' * (seeds > 1)} "
                    "| IWAE bound (nats) "
                    f"| {nats(entry['iwae_nll'])} | Keras VAE {nats(base['iwae_nll'])} | {delta(pair)} "
                    f"| [notes]({NOTES}#{anchor}), [runs](benchmarks/results/{folder}/) |")
    groups = ladder_runs(res)
    full = max(epochs for _, labels, epochs in groups if labels == "100")
    ladder, supervised = groups[("ladder", "100", full)], groups[("supervised", "100", full)]
    errors = [report.mean_std(run["test_error"] for run in runs.values()) for runs in (ladder, supervised)]
    gain = paired(ladder, supervised, "test_error")[0]
    rows.append(f"| `LadderNetwork`, 100 labels | MNIST, {full} epochs, {len(ladder)} label draws | test error (%) "
                f"| {nats(errors[0])} | no decoder {nats(errors[1])} | {delta(gain)} "
                f"| [notes]({NOTES}#ladder-network), [runs](benchmarks/results/ladder/) |")
    d = res.file("diamonds/results.json")
    runs = diamond_runs(d)
    pair = paired(runs["ladderae"], runs["plain VAE"], "neg_elbo")[0]
    rows.append(f"| `TabularLadderAE`, mirror pairs | diamonds, {d['epochs']} epochs, {len(d['seeds'])} seeds "
                f"| -ELBO (nats per row) | {nats(d['mean_sd']['ladderae']['neg_elbo'])} "
                f"| no pairs {nats(d['mean_sd']['plain VAE']['neg_elbo'])} | {delta(pair)} "
                f"| [notes]({NOTES}#tables-diamonds) |")
    return "\n".join(["| model | data, budget | figure | ladderae | baseline | paired Δ | more |",
                      "|---|---|---|---|---|---|---|", *rows])


FINDINGS = {"main-table": main_table, "budget-table": budget_table, "long-runs": long_runs,
            "eight-stages": eight_stages, "iwae-objective": iwae_objective, "protocol-speed": protocol_speed,
            "hierarchical": hierarchical, "ladder": ladder, "diamonds": diamonds, "conv-example": conv_example,
            "scaling": scaling, "headline": headline}


def wrap(markdown, width=118):
    """A finding's lines wrapped at `width` as the hand-written text is: paragraphs, bullets (hanging indent); tables
    stay one row a line."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("|") or len(line) <= width:
            lines.append(line)
        else:
            lines.append(textwrap.fill(line, width, subsequent_indent="  " if line.startswith("- ") else "",
                                       break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines)


def render(text, results=None):
    """`text` with every generated region's body replaced by its finding; an unknown region name is an error."""
    results = results or default_results()

    def fill(match):
        name = match.group(2)
        if name not in FINDINGS:
            raise KeyError(f"unknown generated region {name!r}; known: {', '.join(FINDINGS)}")
        return f"{match.group(1)}{wrap(FINDINGS[name](results))}\n{match.group(4)}"

    return REGION.sub(fill, text)


def regions(text):
    """{name: body} of the generated regions in `text`."""
    return {m.group(2): m.group(3) for m in REGION.finditer(text)}


def stale(path, results=None):
    """The names of `path`'s generated regions whose text differs from what the JSON gives now."""
    text = pathlib.Path(path).read_text()
    expected = regions(render(text, results))
    return [name for name, body in regions(text).items() if body != expected[name]]

