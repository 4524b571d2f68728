"""Accuracy against compute on the embedded datasets, over several seeds.

The small-scale version of the paper's "TokenLearner at half depth keeps
accuracy at about half the FLOPs". On `digits` (images) and `moving_digits`
(videos), trains through the package's own trainer (its default recipe:
AdamW, warmup + cosine) the zoo's `test` size deepened to 4 blocks as:
- a plain ViT with a class token, the original ViT recipe;
- a plain ViT with global average pooling (GAP), the baseline: each
  TokenLearner model differs from it only by the TokenLearner;
- TokenLearner with 8 tokens before block 1/2 and 3/4 of the depth;
- TokenLearner + TokenFuser from 1/2 of the depth;
each with 5 seeds: 30 epochs on digits, 40 on the clips, where only the
two ViTs and TokenLearner at 1/2 are trained (a model that
ignores motion tops out at half its digit accuracy; 40 epochs is where the
plain ViT learns the direction). Prints test accuracy mean +- std, the
difference to the GAP ViT with its 95% confidence interval (paired by seed:
the same seed gives the same data order), and GFLOPs (multiply-adds per
example, as the paper counts them). Writes benchmarks/results/accuracy.json
and the plot benchmarks/results/accuracy_vs_gflops.png.

Each finished run is kept in the JSON file, so a killed benchmark resumes
where it stopped. About 70 minutes on 2 CPU cores (40 runs).

    python benchmarks/accuracy.py
    python benchmarks/accuracy.py --datasets digits --seeds 0 --epochs 2 \
        --out /tmp/accuracy.json   # quick look, kept apart from the results
"""

import argparse
import json
import pathlib
import tempfile

import harness
import keras
import numpy as np
from scipy import stats

from keras_tokenlearner import atomic
from keras_tokenlearner.train import train

NUM_LAYERS = 4
NUM_TOKENS = 8
MODELS = {"digits": "vit_test_patch4", "moving_digits": "vivit_test_patch4"}
EPOCHS = {"digits": 30, "moving_digits": 40}
SEEDS = (0, 1, 2, 3, 4)
BASELINE = "ViT, GAP"  # each TokenLearner row differs from it only by the TokenLearner
# variant: (zoo suffix, overrides)
VARIANTS = {
    "ViT, class token": ("", {}),
    BASELINE: ("", dict(pooling="gap")),
    "TokenLearner at 1/2": ("_tokenlearner", dict(token_learner_index=NUM_LAYERS // 2)),
    "TokenLearner at 3/4": ("_tokenlearner", dict(token_learner_index=3 * NUM_LAYERS // 4)),
    "TokenLearner + fuser at 1/2": ("_tokenfuser", dict(token_learner_index=NUM_LAYERS // 2)),
}
# The clips train 40 epochs of 4x the patches: their rows are the two ViTs and
# the paper's main claim, TokenLearner at 1/2 (5 seeds of each: about 50 minutes here).
DATASET_VARIANTS = {
    "digits": tuple(VARIANTS),
    "moving_digits": ("ViT, class token", BASELINE, "TokenLearner at 1/2"),
}


def run_one(dataset, variant, seed, epochs):
    """Trains one model; returns its test accuracy, GFLOPs and images/s."""
    suffix, overrides = VARIANTS[variant]
    overrides = dict(overrides, num_layers=NUM_LAYERS)
    if suffix:
        overrides["num_tokens"] = NUM_TOKENS
    with tempfile.TemporaryDirectory() as workdir:
        metrics = train(model=MODELS[dataset] + suffix, dataset=dataset, seed=seed,
                        epochs=epochs, model_overrides=overrides, workdir=workdir,
                        export=False, verbose=False)
    keras.backend.clear_session()
    return {key: metrics[key] for key in
            ("test_accuracy", "gflops_per_example", "parameters", "train_images_per_second",
             "model", "model_overrides", "steps")}


def summarize(runs, dataset, variant):
    """Mean and sample standard deviation (ddof=1) over the seeds of one (dataset, variant)."""
    chosen = [run for run in runs if run["dataset"] == dataset and run["variant"] == variant]
    accuracy = np.array([run["test_accuracy"] for run in chosen])
    spread = float(accuracy.std(ddof=1)) if len(accuracy) > 1 else 0.0
    return {
        "dataset": dataset, "variant": variant, "seeds": len(chosen),
        "accuracy_mean": float(accuracy.mean()), "accuracy_std": spread,
        "gflops": chosen[0]["gflops_per_example"], "parameters": chosen[0]["parameters"],
    }


def paired_difference(runs, dataset, variant, baseline=BASELINE):
    """Mean accuracy difference to `baseline` over shared seeds, with its 95% CI.

    Runs with the same seed see the same data order, so the difference is
    taken per seed; the interval is Student's t on those differences.
    """
    def by_seed(name):
        return {run["seed"]: run["test_accuracy"] for run in runs
                if run["dataset"] == dataset and run["variant"] == name}

    ours, theirs = by_seed(variant), by_seed(baseline)
    differences = np.array([ours[seed] - theirs[seed] for seed in sorted(ours) if seed in theirs])
    if len(differences) < 2:
        return None
    half_width = stats.t.ppf(0.975, len(differences) - 1) * differences.std(ddof=1) \
        / np.sqrt(len(differences))
    mean = float(differences.mean())
    return {"mean": mean, "low": mean - half_width, "high": mean + half_width,
            "seeds": len(differences)}


def summarize_all(runs, epochs, seeds):
    """Summaries of the runs with `epochs[dataset]` epochs and one of `seeds`."""
    chosen = [run for run in runs
              if run["epochs"] == epochs.get(run["dataset"]) and run["seed"] in seeds]
    summaries = [summarize(chosen, dataset, variant) for dataset in epochs
                 for variant in DATASET_VARIANTS[dataset]
                 if any(run["dataset"] == dataset and run["variant"] == variant
                        for run in chosen)]
    for row in summaries:
        plain = next((s["gflops"] for s in summaries
                      if s["dataset"] == row["dataset"] and s["variant"] == BASELINE),
                     row["gflops"])
        row["flops_vs_vit"] = row["gflops"] / plain
        row["epochs"] = epochs[row["dataset"]]
        row["difference"] = None if row["variant"] == BASELINE else \
            paired_difference(chosen, row["dataset"], row["variant"])
    return summaries


def motion_blind_ceiling(summaries):
    """Half the GAP ViT's digits accuracy: a model that sees one frame gets the
    digit but guesses the direction (left or right)."""
    digits = next((row for row in summaries
                   if row["dataset"] == "digits" and row["variant"] == BASELINE), None)
    return 0.5 * (digits["accuracy_mean"] if digits else 1.0)


def format_difference(difference):
    """Points with the 95% CI, e.g. "-1.20 (-2.51 to +0.11)"."""
    if difference is None:
        return ""
    return (f"{100 * difference['mean']:+.2f} ({100 * difference['low']:+.2f} to "
            f"{100 * difference['high']:+.2f})")


def print_table(summaries):
    print(f"\n{'dataset':<14} {'model':<28} {'test accuracy (%)':>18} "
          f"{'vs ' + BASELINE + ' (95% CI)':>30} {'MFLOPs':>8} {'FLOPs vs ViT':>12}")
    for row in summaries:
        accuracy = f"{100 * row['accuracy_mean']:.2f} +- {100 * row['accuracy_std']:.2f}"
        print(f"{row['dataset']:<14} {row['variant']:<28} {accuracy:>18} "
              f"{format_difference(row['difference']):>30} "
              f"{1000 * row['gflops']:8.2f} {row['flops_vs_vit']:11.2f}x")


def plot(summaries, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    datasets = sorted({row["dataset"] for row in summaries})
    figure, axes = pyplot.subplots(1, len(datasets), figsize=(5 * len(datasets), 4),
                                   squeeze=False)
    for axis, dataset in zip(axes[0], datasets):
        for row in (s for s in summaries if s["dataset"] == dataset):
            axis.errorbar(1000 * row["gflops"], 100 * row["accuracy_mean"],
                          yerr=100 * row["accuracy_std"], fmt="o", capsize=4,
                          label=row["variant"])
        if dataset == "moving_digits":
            ceiling = 100 * motion_blind_ceiling(summaries)
            axis.axhline(ceiling, color="gray", linestyle="--", linewidth=1,
                         label=f"motion-blind ceiling ({ceiling:.0f}%)")
        epochs = next(row["epochs"] for row in summaries if row["dataset"] == dataset)
        axis.set(title=f"{dataset}, {epochs} epochs (mean +- std over seeds)",
                 xlabel="MFLOPs per example (multiply-adds)", ylabel="test accuracy (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic.atomic_file(path) as temporary:
        figure.savefig(temporary, dpi=120, format="png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--epochs", type=int, help="for every dataset (default: EPOCHS)")
    parser.add_argument("--out", default=str(harness.RESULTS / "accuracy.json"))
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(out.read_text())["runs"] if out.exists() else []
    epochs = {dataset: args.epochs or EPOCHS[dataset] for dataset in args.datasets}
    for seed in args.seeds:  # seed outermost: a stopped run leaves every row with equal seeds
        for dataset in args.datasets:
            for variant in DATASET_VARIANTS[dataset]:
                key = (dataset, variant, seed, epochs[dataset])
                if any((r["dataset"], r["variant"], r["seed"], r["epochs"]) == key for r in runs):
                    continue  # finished before a restart
                runs.append(dict(run_one(dataset, variant, seed, epochs[dataset]),
                                 dataset=dataset, variant=variant, seed=seed,
                                 epochs=epochs[dataset]))
                print(f"{dataset} {variant} seed {seed}: "
                      f"{100 * runs[-1]['test_accuracy']:.2f}%", flush=True)
                harness.write(out, {"runs": runs})
    summaries = summarize_all(runs, epochs, args.seeds)
    print_table(summaries)
    harness.write(out, {"runs": runs, "summary": summaries})
    plot(summaries, out.with_name("accuracy_vs_gflops.png"))


if __name__ == "__main__":
    main()
