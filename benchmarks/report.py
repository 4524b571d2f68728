"""Renders benchmarks/results/*.json as the results tables of the docs and README.

    python benchmarks/report.py                  # print the tables
    python benchmarks/report.py --update-readme  # and write them: every table into
                                                 # docs/benchmarks.md, the headline
                                                 # table into README.md

Every measured number in those tables comes from here; the scripts that
measure them are listed in `benchmarks/run_all.sh`.
"""

import argparse
import json

import harness


def load(name):
    path = harness.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |"
                              for row in rows])


COMMANDS = {  # results written by another script than benchmarks/<name>.py
    "training_whole_job": "python benchmarks/training_throughput.py --whole-job",
}


def section(title, name, render):
    results = load(name)
    command = COMMANDS.get(name, f"python benchmarks/{name}.py")
    if results is None:
        return f"**{title}**: not measured yet (`{command}`)."
    return (f"**{title}** (`{command}`; {results['device']}, "
            f"TensorFlow {results['tensorflow']}, {results['date']})\n\n{render(results)}")


def xla(flag):
    return "on" if flag else "off"


def throughput(results):
    rows = []
    for row in results["rows"]:
        base = row["model"].endswith("_patch16")
        rows.append([f"`{row['model']}`", xla(row["xla"]), row["batch_size"],
                     f"{row['images_per_second']:.1f}", f"{row['latency_ms']:.0f}",
                     "" if base else f"{row['speedup']:.2f}x",
                     "" if base else f"{row['flops_ratio']:.2f}x",
                     f"{100 * row['fraction_of_matmul_rate']:.0f}%"])
    roof = f"float32 matmul rate measured in the same run: " \
           f"{results['float32_matmul_flops'] / 1e9:.0f} GFLOP/s. Every model is built with " \
           "global average pooling (the plain zoo ViTs default to a class token), so the " \
           "three variants differ only in TokenLearner and TokenFuser.\n\n"
    return roof + table(["model", "XLA", "batch", "images/s", "latency ms", "speedup vs ViT",
                         "FLOPs ratio", "of matmul rate"], rows)


def keras_hub(results):
    rows = [[xla(row["xla"]), row["batch_size"], f"{row['ours_images_per_second']:.2f}",
             f"{row['keras_hub_images_per_second']:.2f}", f"{row['ours_vs_keras_hub']:.2f}x",
             f"{100 * row['ours_fraction_of_matmul_rate']:.0f}%"] for row in results["rows"]]
    return (f"ViT-B/16, {results['parameters']:,} parameters each, keras-hub "
            f"{results['keras_hub']}.\n\n" + table(
                ["XLA", "batch", "ours images/s", "keras-hub images/s", "ours vs keras-hub",
                 "ours: of matmul rate"], rows))


def token_learner_layer(results):
    designs = [[f"v{row['version']}", row["reference"], xla(row["xla"]), f"{row['ours_ms']:.1f}",
                f"{row['theirs_ms']:.1f}", f"{row['speedup']:.2f}x",
                f"{row['flops_bound_ms']:.1f}", f"{row['ours_vs_flops_bound']:.2f}x"]
               for row in results["designs"]]
    scaling = []
    for row in results["scaling"]:
        first = next(r for r in results["scaling"] if r["version"] == row["version"])
        scaling.append([f"v{row['version']}", row["positions"],
                        f"{row['positions'] / first['positions']:.0f}x", f"{row['ms']:.1f}",
                        f"{row['ms'] / first['ms']:.2f}x", f"{row['peak_megabytes']:.0f}",
                        f"{row['peak_megabytes'] / first['peak_megabytes']:.2f}x"])
    return table(["version", "against", "XLA", "ours ms", "theirs ms", "ours faster by",
                  "FLOPs at matmul rate, ms", "ours vs that bound"], designs) + \
        "\n\nAs the number of positions N grows (B=32, C=768, 8 tokens, XLA):\n\n" + \
        table(["version", "N", "N growth", "ms", "time growth", "peak MB", "memory growth"],
              scaling)


def block_profile(results):
    rows = [[row["part"], xla(row["xla"]), f"{row['ms']:.1f}",
             f"{100 * row['fraction_of_matmul_rate']:.0f}%"] for row in results["rows"]]
    return (f"One ViT-B/16 block, batch {results['batch_size']} x {results['length']} tokens; "
            f"float32 matmul rate {results['float32_matmul_flops'] / 1e9:.0f} GFLOP/s.\n\n"
            + table(["part", "XLA", "ms", "of matmul rate"], rows))


SETTING_NAMES = {"keras_fit": "Keras `fit(jit_compile=True)`", "ours_1": "ours, 1 step per call",
                 "ours_default": "ours, default steps per call",
                 "ours_mirrored": "ours, default, mirrored on 2 devices"}


def training_throughput(results):
    rows = [[f"`{row['model']}`", row["image_size"] or "dataset's", row["batch_size"],
             SETTING_NAMES[row["setting"]], f"{row['images_per_second']:.1f}",
             f"{row['vs_keras_fit']:.2f}x"] for row in results["rows"]]
    return (f"End-to-end wall-clock images/s after the first step, the median of "
            f"{results['repeats']} fresh processes each; the default is "
            f"{results['default_steps_per_call']} steps per call.\n\n"
            + table(["model", "image size", "batch", "trainer", "images/s", "vs Keras fit"],
                    rows))


def training_whole_job(results):
    steady = {row["model"]: row["vs_keras_fit"]
              for row in (load("training_throughput") or {"rows": []})["rows"]
              if row["setting"] == "ours_default"}
    rows = []
    for row in results["rows"]:
        times, medians = row["seconds"], row["median_seconds"]
        model = row["model"] if " " in row["model"] else f"`{row['model']}`"  # zoo names in code
        rows.append([model, row["image_size"] or "dataset's", row["batch_size"], row["steps"],
                     ", ".join(f"{value:.1f}" for value in times["ours"]),
                     ", ".join(f"{value:.1f}" for value in times["keras_fit"]),
                     f"{medians['ours']:.1f}", f"{medians['keras_fit']:.1f}",
                     f"{row['speedup_vs_keras_fit']:.2f}x",
                     f"{steady[row['model']]:.2f}x" if row["model"] in steady else "not measured"])
    return ("Whole processes, start to exit, each job a fresh process, run in turns (5 "
            "each; 2 for the 224 px job, 3.5 to 6 min a job): our "
            "trainer against the same job with Keras `fit(jit_compile=True)` (same model, "
            "data, optimizer, steps, evaluation and `model.keras`; see "
            "benchmarks/whole_job.py). Whole job = Keras fit's median time over ours; the "
            "steady-state column is the table above's default trainer.\n\n"
            + table(["model", "image size", "batch", "steps", "ours, s (each job)",
                     "Keras fit, s (each job)", "ours, median s", "Keras fit, median s",
                     "whole job vs Keras fit", "steady state vs Keras fit"], rows))


def mixed_precision(results):
    rows = [[f"`{row['model']}`", xla(row["xla"]), f"{row['float32_images_per_second']:.2f}",
             f"{row['mixed_bfloat16_images_per_second']:.2f}", f"{row['speedup']:.2f}x"]
            for row in results["rows"]]
    return (f"Large matmul in the same run: bfloat16 {results['bfloat16_matmul_flops'] / 1e9:.0f}"
            f" GFLOP/s against float32 {results['float32_matmul_flops'] / 1e9:.0f} GFLOP/s "
            f"({results['matmul_speedup']:.2f}x).\n\n" + table(
                ["model (batch 32)", "XLA", "float32 images/s", "mixed_bfloat16 images/s",
                 "speedup"], rows))


def accuracy(results):
    import accuracy as benchmark  # imports the trainer

    summaries = accuracy_summaries(results)
    rows = [[row["dataset"], row["epochs"], row["variant"], row["seeds"],
             f"{100 * row['accuracy_mean']:.2f} ± {100 * row['accuracy_std']:.2f}",
             "baseline" if row["variant"] == benchmark.BASELINE else
             benchmark.format_difference(row["difference"]) or "one seed",
             f"{1000 * row['gflops']:.2f}", f"{row['flops_vs_vit']:.2f}x",
             f"{row['parameters']:,}"] for row in summaries]
    ceiling = benchmark.motion_blind_ceiling(summaries)
    return table(["dataset", "epochs", "model", "seeds", "test accuracy % (mean ± sample std)",
                  f"vs {benchmark.BASELINE}, points (95% CI)", "MFLOPs",
                  f"FLOPs vs {benchmark.BASELINE}", "params"], rows) + "\n\n" + \
        " ".join(findings(summaries, ceiling))


def findings(summaries, ceiling):
    """One sentence per TokenLearner row: its FLOPs, and where the CI of its difference lies."""
    sentences = []
    for row in summaries:
        difference = row["difference"]
        if not row["variant"].startswith("TokenLearner") or difference is None:
            continue
        verdict = ("entirely above zero" if difference["low"] > 0 else
                   "entirely below zero" if difference["high"] < 0 else
                   "an interval that includes zero")
        sentences.append(
            f"On {row['dataset']}, {row['variant']} runs at {row['flops_vs_vit']:.0%} of the "
            f"GAP ViT's FLOPs, and its accuracy differs from the GAP ViT's by "
            f"{100 * difference['mean']:+.2f} points (95% CI {100 * difference['low']:+.2f} to "
            f"{100 * difference['high']:+.2f}), {verdict}.")
    lowest = min((row for row in summaries if row["dataset"] == "moving_digits"),
                 key=lambda row: row["accuracy_mean"], default=None)
    if lowest is not None:
        lowest_text = f"{lowest['variant']}, {100 * lowest['accuracy_mean']:.1f}%"
        where = (f"every row's mean is above the motion-blind ceiling of {100 * ceiling:.1f}% "
                 f"(the lowest: {lowest_text})" if lowest["accuracy_mean"] > ceiling else
                 f"{lowest_text}, is not above the motion-blind ceiling of {100 * ceiling:.1f}%")
        sentences.append(
            f"On moving_digits, {where}. The ceiling is half the GAP ViT's digits "
            f"accuracy: a model that reads the digit from one frame but not the direction of "
            f"motion can reach no more.")
    return sentences


def accuracy_summaries(results):
    import accuracy as benchmark

    return benchmark.summarize_all(results["runs"], benchmark.EPOCHS, benchmark.SEEDS)


def headline():
    """README's table: TokenLearner's FLOPs, speed and accuracy against the plain ViT."""
    rows = []
    speed, scores = load("throughput"), load("accuracy")
    if speed:
        for row in speed["rows"]:
            if row["batch_size"] == 32 and row["xla"] and row["model"].startswith(
                    "vit_base_patch16_"):
                rows.append([f"`{row['model']}`",
                             "inference, 224 px, batch 32, XLA, 2-core CPU",
                             f"{1 / row['flops_ratio']:.2f}x", f"{row['speedup']:.2f}x",
                             "not trained here"])
    if scores:
        import accuracy as benchmark

        for row in accuracy_summaries(scores):
            if row["variant"].startswith("TokenLearner") and row["difference"]:
                rows.append([f"{row['variant']}, 4-block test size", f"{row['dataset']}, "
                             f"{row['epochs']} epochs, {row['seeds']} seeds",
                             f"{row['flops_vs_vit']:.2f}x", "not timed",
                             benchmark.format_difference(row["difference"])])
    return table(["model", "measured on", "FLOPs vs ViT", "images/s vs ViT",
                  "accuracy vs ViT (GAP), points (95% CI)"], rows)


SECTIONS = [
    ("Accuracy against compute", "accuracy", accuracy),
    ("Inference throughput", "throughput", throughput),
    ("Where ViT-B/16's time goes", "block_profile", block_profile),
    ("Ours against keras-hub", "keras_hub_comparison", keras_hub),
    ("The TokenLearner layer alone", "token_learner_layer", token_learner_layer),
    ("Training throughput", "training_throughput", training_throughput),
    ("Whole training jobs", "training_whole_job", training_whole_job),
    ("Mixed precision", "mixed_precision", mixed_precision),
]


def render():
    """The docs' benchmark block: every section."""
    return "\n\n".join(section(*entry) for entry in SECTIONS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    text, summary = render(), headline()
    print(text + "\n\n" + summary)
    if args.update_readme:
        harness.update_markdown(harness.DOCS / "benchmarks.md", "benchmarks", text)
        harness.update_markdown(harness.README, "headline", summary)
        scores = load("accuracy")
        if scores:
            import accuracy as benchmark

            benchmark.plot(accuracy_summaries(scores), harness.RESULTS / "accuracy_vs_gflops.png")


if __name__ == "__main__":
    main()
