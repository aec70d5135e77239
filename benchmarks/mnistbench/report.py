"""Summaries and markdown tables of finished runs: the main table, the speed section, the IWAE protocol, the
hierarchical table and the Ladder VAE paper's protocol.

Every figure is a mean ± standard deviation over seeds; Δ is the paired
difference to the baseline run with the same seed (negative = better than the
baseline). The floor column divides a row's median epoch by the epoch floor
of `floor.py`; "vs baseline" is the baseline's s/epoch over the row's, seed by
seed (paired speed: the two ran one after the other under the same load).
"""

import statistics

from mnistbench import spec
from mnistbench.spec import BASELINE, LVAE, LVAE_KWARGS, warmup_epochs

FIGURES = ["neg_elbo", "own_neg_elbo", "iwae_nll", "kl", "reconstruction", "active_units",
           "linear_probe_accuracy", "parameters", "examples_per_second", "median_epoch_seconds", "peak_memory_mb"]

# Burda et al. 2015, one stochastic layer (784-200-200-50 tanh), 3,280 epochs (8 stages), k=5000 on all test digits.
PAPER_8_STAGES = {"VAE": 86.76, "IWAE k=50": 84.78}  # the IWAE figure is quoted, not seen in the paper (anchors.md)
# The published figures beside the hierarchical rows, with what is known of their budgets (anchors.md): the LVAE's
# as listings quote it, the one-latent rows' the IWAE paper's VAE.
PAPER_LVAE = "81.74 (Sønderby et al. 2016, 5 layers, k=5000; quoted, not checked against the paper's table)"
PAPER_VAE = "86.76 (Burda et al. 2015, VAE 784-200-200-50 tanh, 3,280 epochs, k=5000)"
# The LVAE paper's own figures beside its protocol's rows, quoted (never computed) with their source; None where no
# source read so far gives the paper's table entry (benchmarks/README.md, "The Ladder VAE paper's protocol", says
# what was looked for and found).
PAPER_LVAE_PROTOCOL = {
    spec.LVAE_PAPER_BOTTOM_UP: None,
    spec.LVAE_PAPER_LADDER: ("81.74", "as secondary sources quote the paper's MNIST LVAE (an aggregator; the IAF "
                                      "paper's table as retold): which variant (importance-weighted training, "
                                      "fine-tuning) is unchecked"),
}


def mean_std(values):
    """(mean, sample standard deviation) of the values that are not None (sd None for one value: it has no spread to
    show, and a table prints it without ±); None for none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)


def paired_differences(runs, base, figure):
    """{seed: `figure` of runs[seed] minus base[seed]} over the seeds both have: {seed: run} dicts whose runs share
    their seed's initial draws, data order and binarisation, so the difference leaves out what the seed changes."""
    return {seed: r[figure] - base[seed][figure] for seed, r in runs.items() if seed in base}


def paired_rows(results, row, base_row, figures):
    """{figure: {"per_seed": {seed: `row` minus `base_row`}, "mean_std": ...}} over the seeds both rows have run."""
    by_row = {}
    for r in results:
        by_row.setdefault(r["spec"]["row"], {})[r["spec"]["seed"]] = r
    out = {}
    for figure in figures:
        per_seed = paired_differences(by_row.get(row, {}), by_row.get(base_row, {}), figure)
        out[figure] = {"per_seed": dict(sorted(per_seed.items())), "mean_std": mean_std(per_seed.values())}
    return out


def summarize(results):
    """One entry per (preset, row, backend): every figure over seeds and the paired deltas to the baseline."""
    groups = {}
    for r in results:
        s = r["spec"]
        groups.setdefault((s["preset"], s["row"], s["backend"]), {})[s["seed"]] = r
    summary = []
    for (preset, row, backend), by_seed in groups.items():
        base = next((runs for (p, name, _), runs in groups.items() if p == preset and name == BASELINE), {})
        first = next(iter(by_seed.values()))
        entry = {"preset": preset, "row": row, "backend": backend, "seeds": len(by_seed),
                 "epochs": first["spec"]["epochs"], "iwae_k": first.get("iwae_k"),
                 "iwae_images": first.get("iwae_images")}
        for fig in FIGURES + _layer_figures(first):
            entry[fig] = mean_std([r.get(fig) for r in by_seed.values()])
        for fig in ("neg_elbo", "iwae_nll"):
            entry[f"delta_{fig}"] = mean_std(paired_differences(by_seed, base, fig).values())
        entry["speed_vs_baseline"] = mean_std([base[seed]["median_epoch_seconds"] / r["median_epoch_seconds"]
                                               for seed, r in by_seed.items() if seed in base])
        summary.append(entry)
    return summary


# Under a table whose s/epoch comes from its training runs: those ran beside other jobs more often than not.
def _training_epochs_note(report):
    """What the s/epoch of a table's rows is: its training runs' (not a speed figure), and where the speed is."""
    return ("s/epoch and x floor above: the training runs' own epochs, however loaded the machine was then (not speed "
            "figures); " + ("a speed section times the rows with the cores free." if report.get("speed") else
                            "no row of this table was timed with the cores free (`--speed-rounds 0`)."))


def _layer_figures(result):
    """A hierarchy's per-layer figures in `result` (``kl_<latent>``, ``active_units_<latent>``), lowest layer first."""
    return [key for key in result if key.startswith(("kl_", "active_units_"))]


def summarize_speed(results, floor_seconds, baseline_backend="tensorflow", baseline_row=BASELINE):
    """Per configuration over the paired rounds: median epoch, ratio to `baseline_row` (on `baseline_backend`) of the
    same round, x floor. `floor_seconds`: one floor for every row, or {row: its own floor}."""
    by_round = {}
    for r in results:
        by_round.setdefault(r["spec"]["seed"], {})[(r["spec"]["row"], r["spec"]["backend"])] = r
    train_size, batch_size = results[0]["spec"]["train_size"], results[0]["spec"]["batch_size"]
    configs = []
    for key in by_round[0]:
        times = [rnd[key]["median_epoch_seconds"] for rnd in by_round.values() if key in rnd]
        ratios = [rnd[(baseline_row, baseline_backend)]["median_epoch_seconds"] / rnd[key]["median_epoch_seconds"]
                  for rnd in by_round.values() if key in rnd and (baseline_row, baseline_backend) in rnd]
        median = statistics.median(times)
        floor = floor_seconds[key[0]] if isinstance(floor_seconds, dict) else floor_seconds
        configs.append({"row": key[0], "backend": key[1], "median_epoch_seconds": median,
                        "examples_per_second": train_size / median,
                        "ratio": statistics.median(ratios) if ratios else None,  # None: `--rows` left it out
                        "ms_per_step": 1000 * median / -(-train_size // batch_size),
                        "ratios": ratios, "floor_seconds": floor, "x_floor": median / floor})
    return configs


def fmt(pair, digits=2):
    """``mean ± sd`` of a `mean_std` pair at `digits` decimals, the mean alone for one value; ``n/a`` for None."""
    if pair is None:
        return "n/a"
    mean, std = pair
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def signed(pair, digits=2):
    """``+0.05 ± 0.17``: a paired difference's `mean_std` pair, signed (negative = the first row better); the
    difference alone for one seed."""
    mean, std = pair
    return f"{mean:+.{digits}f}" if std is None else f"{mean:+.{digits}f} ± {std:.{digits}f}"


def _machine_line(report):
    """The machines the table's runs were scored on, as each run records (a report-only pass tabulates runs scored
    elsewhere, so its own machine is not theirs), the library versions, and the command that wrote the table."""
    envs = [run["environment"] for run in report.get("runs", []) if "environment" in run] or [report["environment"]]
    machines = "; ".join(sorted({f"{e['cpu']}, {e['cores']} cores" for e in envs}))
    versions = "; ".join(sorted({", ".join(f"{p} {v}" for p, v in e["versions"].items()) for e in envs}))
    return f"Machine: {machines}; {versions}. Command: `{report['command']}`."


def markdown(report):
    """The main table's results.md."""
    s = report["settings"]
    lines = [f"# ladderae vs a plain VAE on binarised MNIST ({report['date']})", "", _machine_line(report), "",
             f"Budget: {s['epochs']} epochs at batch {s['batch_size']} (Adam 1e-3) on {s['train_size']} training "
             f"digits; {s['seeds']} seeds per row; test figures on {s['test_size']} test digits; IWAE with "
             f"k={s['iwae_k']} on the first {s['iwae_images']} of them; linear probe trained on the latent means of "
             f"{s['probe_size']} training digits. ± is the standard deviation over seeds; Δ is the paired "
             "difference to the baseline with the same seed (negative = ladderae better).", ""]
    lines += ["## Pair weight sweep (validation -ELBO, first seed, "
              f"{s['sweep_epochs']} epochs, train 50k / validate 10k)", "", "| mode | weight | validation -ELBO |",
              "|---|---|---|"]
    for r in report["sweep"]:
        lines.append(f"| {r['spec']['kwargs']['stop_gradient']} | {r['spec']['kwargs']['consistency_weight']:g} "
                     f"| {r['neg_elbo']:.2f} |")
    lines += ["", "Chosen: " + ", ".join(f"{m} w={c['weight']:g}" for m, c in report["chosen"].items())
              + f"; best mode: **{report['best_mode']}**.", ""]
    header = ("| preset | row | backend | params | test -ELBO | own -ELBO | IWAE | KL | recon | active | probe acc "
              "| ex/s | s/epoch | peak MB | Δ -ELBO | Δ IWAE |")
    lines += ["## Results", "", header, "|" + "---|" * 16]
    for e in report["summary"]:
        lines.append(
            f"| {e['preset']} | {e['row']} | {e['backend']} | {int(e['parameters'][0]):,} | {fmt(e['neg_elbo'])} "
            f"| {fmt(e['own_neg_elbo'])} | {fmt(e['iwae_nll'])} | {fmt(e['kl'])} | {fmt(e['reconstruction'])} "
            f"| {fmt(e['active_units'], 1)} | {fmt(e['linear_probe_accuracy'], 3)} "
            f"| {fmt(e['examples_per_second'], 0)} | {fmt(e['median_epoch_seconds'])} "
            f"| {fmt(e['peak_memory_mb'], 0)} | {fmt(e['delta_neg_elbo'])} | {fmt(e['delta_iwae_nll'])} |")
    if report.get("speed"):
        sp = report["speed"]
        lines += ["", f"## Training speed (wide, batch {s['batch_size']}, {s['train_size']} digits per epoch)", "",
                  f"Paired: {s['speed_rounds']} rounds, each running every configuration once "
                  f"(1 warm-up epoch excluded, then {s['speed_epochs']} timed); ratio = examples/s over the "
                  "baseline's in the same round, median over rounds. Floor: "
                  f"{sp['flops_per_example'] / 1e6:.2f} MFLOP per training example at the measured "
                  f"{sp['matmul_gflops']:.0f} GFLOP/s (NumPy matmul at the model's shapes) = "
                  f"{sp['floor_seconds']:.2f} s per epoch.", "",
                  "| config | backend | median s/epoch | examples/s | ratio to baseline | x floor |",
                  "|---|---|---|---|---|---|"]
        for c in sp["configs"]:
            lines.append(f"| {c['row']} | {c['backend']} | {c['median_epoch_seconds']:.2f} "
                         f"| {c['examples_per_second']:.0f} | {c['ratio']:.2f}x | {c['x_floor']:.2f} |")
    return "\n".join(lines) + "\n"


def _paper(row):
    return PAPER_8_STAGES["IWAE k=50" if row.startswith("IWAE k=50") else "VAE"]


def protocol_markdown(report):
    """The IWAE-paper protocol's results.md: each row beside the paper's figure, with the floor."""
    s, floor = report["settings"], report["floor"]
    lines = [f"# The IWAE paper's protocol: ladderae vs a plain VAE ({report['date']})", "", _machine_line(report), "",
             f"Budget: {s['stages']} learning-rate stages = {s['epochs']} epochs (stage i: 3^i epochs at "
             f"1e-3 x 10^(-i/7)), batch {s['batch_size']}, Adam (0.9, 0.999, eps 1e-4), training digits binarised "
             f"afresh every epoch ({s['train_size']} digits); IWAE with k={s['iwae_k']} on {s['iwae_images']} test "
             f"digits; seeds per row: {s['seeds']}. Pair weight from the validation sweep of the main table "
             f"({report['best_mode']} w={report['chosen'][report['best_mode']]['weight']:g}). The paper "
             "(Burda et al. 2015) trained 8 stages (3,280 epochs); its IWAE k=50 figure is quoted, not verified.",
             "", f"Floor: {floor['flops_per_example'] / 1e6:.2f} MFLOP per training example at "
             f"{floor['matmul_gflops']:.0f} GFLOP/s (NumPy matmul at the model's shapes, batch {s['batch_size']}) = "
             f"{floor['floor_seconds']:.2f} s per epoch; a row trained with k samples per example: the layers "
             "below z once, z and the decoder k times.", "",
             "| row | backend | seeds | epochs | test -ELBO | IWAE NLL | paper, 8 stages | KL | active | s/epoch "
             "| x floor | Δ -ELBO | Δ IWAE |", "|" + "---|" * 13]
    for e in report["summary"]:
        seconds = e["median_epoch_seconds"]
        lines.append(
            f"| {e['row']} | {e['backend']} | {e['seeds']} | {e['epochs']} | {fmt(e['neg_elbo'])} "
            f"| {fmt(e['iwae_nll'])} | {_paper(e['row']):.2f} | {fmt(e['kl'])} | {fmt(e['active_units'], 1)} "
            f"| {fmt(seconds)} | {seconds[0] / report.get('floors', {}).get(e['row'], floor)['floor_seconds']:.1f} "
            f"| {fmt(e['delta_neg_elbo'])} "
            f"| {fmt(e['delta_iwae_nll'])} |")
    for message in report["skipped"]:
        lines.append(f"\nNot run: {message}.")
    lines += ["", _training_epochs_note(report)]
    return "\n".join(lines + _speed_section(report, "floor: the row's own, as above (k samples: z and the decoder "
                                                    "k times)") + _k_sweep_section(report)) + "\n"


def _k_sweep_section(report):
    """The IWAE objective's step time against k (the `--k-sweep` rounds), each k against its own floor."""
    sweep, s = report.get("k_sweep"), report["settings"]
    if not sweep:
        return []
    lines = ["", f"## The IWAE objective's step time against k (no pairs, batch {s['batch_size']})", "",
             f"Paired: {s['speed_rounds']} rounds, each k once per round, one at a time (1 warm-up epoch excluded, "
             f"then {s['speed_epochs']} timed); median over rounds; x k={sweep[0]['k']} = the step time over the "
             f"k={sweep[0]['k']} step's in the same round; floor: each k's own (the layers below z once, z and the "
             "decoder k times, their products timed at their own shapes).", "",
             f"| k | ms/step | µs per sample | x k={sweep[0]['k']} | floor ms/step | x floor |",
             "|---|---|---|---|---|---|"]
    for c in sweep:
        floor_ms = c["floor_seconds"] / c["median_epoch_seconds"] * c["ms_per_step"]
        per_sample_us = 1000 * c["ms_per_step"] / (c["k"] * s["batch_size"])
        lines.append(f"| {c['k']} | {c['ms_per_step']:.2f} | {per_sample_us:.1f} | {_ratio(c, inverse=True)} "
                     f"| {floor_ms:.2f} | {c['x_floor']:.2f} |")
    return lines


def _per_layer(entry, prefix, digits):
    """``z1 15.2 ± 0.1 · ... · z 0.4 ± 0.0``: a figure per latent layer (the top ``z`` last); the one figure of a
    model with one latent."""
    layers = [key.removeprefix(prefix) for key in entry if key.startswith(prefix)]
    if not layers:
        return f"z {fmt(entry[prefix.rstrip('_')], digits)}"
    return " · ".join(f"{name} {fmt(entry[prefix + name], digits)}" for name in layers)


def _hierarchy_budget(s):
    """The paragraph above the hierarchical table: the training budget, the scoring budget and the columns."""
    lvae = LVAE_KWARGS
    return (f"Budget: {s['epochs']} epochs for every row at batch {s['batch_size']} (Adam 1e-3) on {s['train_size']} "
            f"training digits binarised afresh every epoch; seeds per row: {s['seeds']}. The LVAE: deterministic "
            f"{'-'.join(map(str, lvae['encoder']))}, latents {'-'.join(map(str, lvae['latent_dim']))}, batch norm, KL "
            f"warm-up over the first {warmup_epochs(lvae['warmup'])} epochs. -ELBO, KL and active units "
            "(posterior-mean variance > "
            f"0.01) on {s['test_size']} test digits binarised once; IWAE bound with k={s['iwae_k']} on the first "
            f"{s['iwae_images']} of them, over every latent layer for the LVAE (`ladderae.evaluate_hierarchy`). "
            "± is the standard deviation over seeds; Δ IWAE is the paired difference to the baseline with the same "
            "seed (negative = better); speed vs baseline is the baseline's s/epoch over the row's, seed by seed; "
            "x floor is s/epoch over the row's own matmul floor (its graph and its pairs' layers, at the measured "
            "NumPy rate). The published figures are at their papers' own budgets, not this one.")


def _layered_rows(report, paper, paired_speed):
    """The rows of a table of models with several latent layers (header first): each row's bound, `paper(row)`'s
    figure, KL and active units per layer, s/epoch against its own floor; with `paired_speed`, the speed against the
    baseline and the paired Δ IWAE too (the hierarchical table has a baseline row; the LVAE paper's table its own
    paired section)."""
    s, floors = report["settings"], report["floors"]
    head = ["row", "backend", "params", "budget (epochs x seeds)", "test -ELBO",
            f"IWAE k={s['iwae_k']}, {s['iwae_images']} digits", "paper", "KL per layer (nats)",
            "active units per layer", "s/epoch", *(["speed vs baseline (x)"] if paired_speed else []),
            "floor s/epoch", "x floor", *(["Δ IWAE"] if paired_speed else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in report["summary"]:
        floor_seconds = floors[e["row"]]["floor_seconds"]
        cells = [e["row"], e["backend"], f"{int(e['parameters'][0]):,}", f"{e['epochs']} x {e['seeds']}",
                 fmt(e["neg_elbo"]), fmt(e["iwae_nll"]), paper(e["row"]), _per_layer(e, "kl_", 2),
                 _per_layer(e, "active_units_", 1), fmt(e["median_epoch_seconds"]),
                 *([fmt(e["speed_vs_baseline"])] if paired_speed else []), f"{floor_seconds:.2f}",
                 f"{e['median_epoch_seconds'][0] / floor_seconds:.1f}",
                 *([fmt(e["delta_iwae_nll"])] if paired_speed else [])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def hierarchy_markdown(report):
    """The hierarchical table's results.md: each row with its budget, per-layer KL and active units, paired speed and
    its floor, beside the published figure."""
    lines = [f"# The Ladder VAE against one latent on binarised MNIST ({report['date']})", "", _machine_line(report),
             "", _hierarchy_budget(report["settings"]), "",
             *_layered_rows(report, lambda row: PAPER_LVAE if row == LVAE else PAPER_VAE, paired_speed=True),
             "", _training_epochs_note(report)]
    return "\n".join(lines + _speed_section(report, "floor: the row's own matmul floor as above")) + "\n"


def _ratio(config, inverse=False):
    """A speed section's ratio to its baseline row, ``n/a`` when `--rows` left that row out."""
    if config["ratio"] is None:
        return "n/a"
    return f"{1 / config['ratio'] if inverse else config['ratio']:.2f}"


def _speed_section(report, floor_note, baseline="the Keras VAE"):
    """The "training speed with the cores free" section of a table with paired speed rounds (none without them);
    `baseline`: the row the ratio divides by."""
    s = report["settings"]
    if not report.get("speed"):
        return []
    lines = ["", f"## Training speed with the cores free (batch {s['batch_size']}, {s['train_size']:,} digits "
             "per epoch)", "", f"Paired: {s['speed_rounds']} rounds, each running every row once, one at a "
             f"time (1 warm-up epoch excluded, then {s['speed_epochs']} timed, the training runs' pipeline and "
             f"callbacks); median over rounds; ratio = {baseline}'s s/epoch over the row's in the same round; "
             f"{floor_note}.", "",
             "| row | backend | median s/epoch | ms/step | examples/s | speed vs baseline (x) | floor s/epoch "
             "| x floor |", "|---|---|---|---|---|---|---|---|"]
    for c in report["speed"]:
        lines.append(f"| {c['row']} | {c['backend']} | {c['median_epoch_seconds']:.2f} | {c['ms_per_step']:.2f} "
                     f"| {c['examples_per_second']:.0f} | {_ratio(c)} | {c['floor_seconds']:.2f} "
                     f"| {c['x_floor']:.2f} |")
    timed = {c["row"] for c in report["speed"]}
    untimed = [e["row"] for e in report.get("summary", []) if e["row"] not in timed]
    if untimed:
        lines += ["", "Not in these rounds (added to the table after they were timed; the s/epoch above is its "
                  "training runs'): " + ", ".join(f"`{row}`" for row in untimed) + "."]
    return lines


def _paper_lvae_cell(row):
    """A row's figure from the LVAE paper, quoted and marked so; where none was found, saying so."""
    quoted = PAPER_LVAE_PROTOCOL.get(row)
    return "not found (see notes)" if quoted is None else f"{quoted[0]} (quoted, unchecked)"


def _lvae_budget(s):
    """The paragraph above the LVAE paper's table: its training and scoring budget, as the reference code's."""
    kwargs, step = spec.LVAE_PAPER_KWARGS, spec.LVAE_PAPER_STEP
    steps = -(-s["train_size"] // s["batch_size"])
    warmup = spec.warmup_epochs(kwargs["warmup"])
    return (f"Budget: {s['epochs']} epochs for every row at batch {s['batch_size']} on {s['train_size']} training "
            f"digits binarised afresh every epoch; seeds: {s['seeds']}. The reference code's step "
            f"(casperkaae/LVAE run_models.py): Adam {step['learning_rate']:g} (0.9, 0.999, eps "
            f"{step['adam_epsilon']:g}), the gradients' global norm capped at {step['clip_global_norm']:g}, then "
            f"each element clipped to ±{step['clip_value']:g}; the KL weight from 0 to 1 over the first {warmup} "
            f"epochs ({warmup * steps} steps, linear per step). Both rows: one generative model, deterministic blocks "
            f"of {spec.LVAE_PAPER_MLP_LAYERS} Dense layers of each width of "
            f"{'-'.join(map(str, spec.LVAE_PAPER_BLOCKS))} (`encoder` {'-'.join(map(str, kwargs['encoder']))}, "
            f"`pairing=\"every\"`, k={kwargs['pairing_options']['k']}: a latent after every block), latents "
            f"{'-'.join(map(str, kwargs['latent_dim']))}, batch norm, {kwargs['activation']} (negative slope "
            "0.01, Lasagne's); inference bottom-up (`pair_kind=\"bottom_up\"`) or the "
            "Ladder VAE's (`\"stochastic\"`). -ELBO, KL and active units (posterior-mean variance > 0.01) per "
            f"layer on {s['test_size']} test digits binarised once; IWAE bound with k={s['iwae_k']} on the first "
            f"{s['iwae_images']} of them over every latent layer. ± is the standard deviation over seeds; x floor "
            "is s/epoch over the row's own matmul floor. The paper's figures are quoted, never computed.")


def lvae_markdown(report):
    """The LVAE paper's protocol's results.md: each row beside the paper's figure (quoted), the paired difference
    Ladder VAE minus bottom-up per seed, the rows' per-layer KL and active units, and their floors and speed."""
    s = report["settings"]
    lines = [f"# The Ladder VAE paper's comparison at its budget ({report['date']})", "", _machine_line(report), "",
             _lvae_budget(s), "", *_layered_rows(report, _paper_lvae_cell, paired_speed=False)]
    paired = report.get("paired") or {}
    seeds = sorted({seed for figure in paired.values() for seed in figure["per_seed"]})
    if seeds:
        lines += ["", f"{spec.LVAE_PAPER_LADDER} minus {spec.LVAE_PAPER_BOTTOM_UP}, paired by seed (nats; negative "
                  "= the Ladder VAE better):", "",
                  "| figure | " + " | ".join(f"seed {seed}" for seed in seeds) + " | mean ± sd |",
                  "|" + "---|" * (len(seeds) + 2)]
        names = {"iwae_nll": f"IWAE k={s['iwae_k']}", "neg_elbo": "test -ELBO"}
        for figure, found in paired.items():
            cells = [f"{found['per_seed'][seed]:+.2f}" if seed in found["per_seed"] else "n/a" for seed in seeds]
            mean_sd = "n/a" if found["mean_std"] is None else signed(found["mean_std"])
            lines.append(f"| {names.get(figure, figure)} | " + " | ".join(cells) + f" | {mean_sd} |")
    quoted = [(row, q) for row, q in PAPER_LVAE_PROTOCOL.items() if q is not None]
    lines += ["", "The paper column: " + "; ".join(f"{row}: {q[0]}, {q[1]}" for row, q in quoted) + ". "
              + "; ".join(f"{row}: the paper's figure was not found in a source read so far"
                          for row, q in PAPER_LVAE_PROTOCOL.items() if q is None) + "."]
    for message in report.get("skipped", []):
        lines.append(f"\nNot run: {message}.")
    lines += ["", _training_epochs_note(report)]
    return "\n".join(lines + _speed_section(report, "floor: the row's own matmul floor as above",
                                            baseline=f"the {spec.LVAE_PAPER_BOTTOM_UP} row")) + "\n"
