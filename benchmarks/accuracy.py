"""Accuracy against compute on the embedded datasets, over several seeds.

The small-scale version of the paper's "TokenLearner at half depth keeps
accuracy at about half the FLOPs". On `digits` (images) and `moving_digits`
(videos), trains a plain ViT, TokenLearner with 8 tokens before block 1/2
and 3/4 of the depth, and TokenLearner + TokenFuser from 1/2 depth, each with
3 seeds, through the package's own trainer (its default recipe: AdamW,
warmup + cosine; 30 epochs on digits, 10 on the clips, which have 4x the
patches). The models are the zoo's `test` size deepened to 4 blocks.
Prints test accuracy mean +- std next to GFLOPs (multiply-adds per example,
as the paper counts them). Writes benchmarks/results/accuracy.json
and the plot benchmarks/results/accuracy_vs_gflops.png.

Each finished run is kept in the JSON file, so a killed benchmark resumes
where it stopped. About 40 minutes on 2 CPU cores.

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

from keras_tokenlearner import atomic
from keras_tokenlearner.train import train

NUM_LAYERS = 4
NUM_TOKENS = 8
MODELS = {"digits": "vit_test_patch4", "moving_digits": "vivit_test_patch4"}
EPOCHS = {"digits": 30, "moving_digits": 10}
SEEDS = (0, 1, 2)
# variant: (zoo suffix, overrides)
VARIANTS = {
    "ViT": ("", {}),
    "TokenLearner at 1/2": ("_tokenlearner", dict(token_learner_index=NUM_LAYERS // 2)),
    "TokenLearner at 3/4": ("_tokenlearner", dict(token_learner_index=3 * NUM_LAYERS // 4)),
    "TokenLearner + fuser at 1/2": ("_tokenfuser", dict(token_learner_index=NUM_LAYERS // 2)),
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


def summarize_all(runs, epochs, seeds):
    """Summaries of the runs with `epochs[dataset]` epochs and one of `seeds`."""
    chosen = [run for run in runs
              if run["epochs"] == epochs.get(run["dataset"]) and run["seed"] in seeds]
    summaries = [summarize(chosen, dataset, variant) for dataset in epochs for variant in VARIANTS
                 if any(run["dataset"] == dataset and run["variant"] == variant
                        for run in chosen)]
    for row in summaries:
        plain = next((s["gflops"] for s in summaries
                      if s["dataset"] == row["dataset"] and s["variant"] == "ViT"), row["gflops"])
        row["flops_vs_vit"] = row["gflops"] / plain
    return summaries


def print_table(summaries):
    print(f"\n{'dataset':<14} {'model':<28} {'test accuracy (%)':>18} {'MFLOPs':>8} "
          f"{'FLOPs vs ViT':>12}")
    for row in summaries:
        accuracy = f"{100 * row['accuracy_mean']:.2f} +- {100 * row['accuracy_std']:.2f}"
        print(f"{row['dataset']:<14} {row['variant']:<28} {accuracy:>18} "
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
        axis.set(title=f"{dataset} (mean +- std over seeds)",
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
    for dataset in args.datasets:
        for variant in VARIANTS:
            for seed in args.seeds:
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
