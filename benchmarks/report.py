"""Renders benchmarks/results/*.json as the README's results tables.

    python benchmarks/report.py                  # print the tables
    python benchmarks/report.py --update-readme  # and replace them in README.md

Every measured number in the README's "Benchmarks" section comes from
here (its prose explains the code and names the tables, without numbers of
its own); the scripts that measure them are listed in `benchmarks/run_all.sh`.
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


def section(title, name, render):
    results = load(name)
    if results is None:
        return f"**{title}**: not measured yet (`python benchmarks/{name}.py`)."
    return (f"**{title}** (`python benchmarks/{name}.py`; {results['device']}, "
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

    summaries = benchmark.summarize_all(results["runs"], benchmark.EPOCHS, benchmark.SEEDS)
    benchmark.plot(summaries, harness.RESULTS / "accuracy_vs_gflops.png")
    rows = []
    for row in summaries:
        rows.append([row["dataset"], benchmark.EPOCHS[row["dataset"]], row["variant"],
                     row["seeds"],
                     f"{100 * row['accuracy_mean']:.2f} ± {100 * row['accuracy_std']:.2f}",
                     f"{1000 * row['gflops']:.2f}", f"{row['flops_vs_vit']:.2f}x",
                     f"{row['parameters']:,}"])
    return table(["dataset", "epochs", "model", "seeds", "test accuracy % (mean ± sample std)",
                  "MFLOPs", "FLOPs vs ViT", "params"], rows) + "\n\n" + \
        half_depth_against_vit(summaries) + \
        "\n\n![Accuracy against compute](benchmarks/results/accuracy_vs_gflops.png)"


def half_depth_against_vit(summaries):
    """The paper's claim, per dataset: TokenLearner at 1/2 against the plain ViT."""
    sentences = []
    for dataset in dict.fromkeys(row["dataset"] for row in summaries):
        rows = {row["variant"]: row for row in summaries if row["dataset"] == dataset}
        plain, learned = rows.get("ViT"), rows.get("TokenLearner at 1/2")
        if plain is None or learned is None:
            continue
        difference = 100 * (learned["accuracy_mean"] - plain["accuracy_mean"])
        spread = 100 * ((plain["accuracy_std"] ** 2 + learned["accuracy_std"] ** 2) / 2) ** 0.5
        sentences.append(
            f"On {dataset}, TokenLearner at 1/2 depth runs at "
            f"{learned['flops_vs_vit']:.0%} of the plain ViT's FLOPs, and its mean accuracy "
            f"differs from the ViT's by {difference:+.2f} points: "
            f"{abs(difference) / spread:.1f} times the pooled sample standard deviation "
            f"over seeds ({spread:.2f} points).")
    return " ".join(sentences)


def _target_rows():
    """(target, measured, met) for each of issue 7's targets whose results exist."""
    rows = []
    speed, hub = load("throughput"), load("keras_hub_comparison")
    layer, precision = load("token_learner_layer"), load("mixed_precision")
    training = load("training_throughput")
    if training:
        rows += [(f"our trainer / Keras fit, end to end (`{row['model']}`)",
                  row["vs_keras_fit"], 1.0)
                 for row in training["rows"] if row["setting"] == "ours_default"]
    if speed:
        for flag in (True, False):
            for row in speed["rows"]:
                if row["batch_size"] == 32 and row["xla"] == flag:
                    if row["model"] == "vit_base_patch16_tokenlearner":
                        rows.append((f"TokenLearner ViT-B/16 / ViT-B/16 images/s "
                                     f"(batch 32, XLA {xla(flag)})", row["speedup"], 1.9))
                    if row["model"] == "vit_base_patch16":
                        rows.append((f"ViT-B/16: fraction of the float32 matmul rate (batch 32, "
                                     f"XLA {xla(flag)})", row["fraction_of_matmul_rate"], 0.9))
    if hub:
        rows += [(f"ours / keras-hub (batch {row['batch_size']}, XLA {xla(row['xla'])})",
                  row["ours_vs_keras_hub"], 1.0) for row in hub["rows"]]
    if precision:
        rows += [(f"`{row['model']}` mixed_bfloat16 / float32 (XLA {xla(row['xla'])})",
                  row["speedup"], 1.4) for row in precision["rows"]]
    if layer:
        for row in layer["designs"]:
            rows.append((f"TokenLearner v{row['version']} speed / {row['reference']} "
                         f"(XLA {xla(row['xla'])})", row["speedup"], 1.0))
            rows.append((f"TokenLearner v{row['version']} time / its FLOPs at the matmul rate "
                         f"(XLA {xla(row['xla'])})", -row["ours_vs_flops_bound"], -2.0))
    return [[text, f"{abs(measured):.3f}", f"{'<=' if bound < 0 else '>='} {abs(bound):.2f}",
             "met" if measured >= bound else "**not met**"] for text, measured, bound in rows]


def targets():
    return "**Targets** (issue 7; each ratio measured in one run)\n\n" \
        + table(["target", "measured", "target", ""], _target_rows())


SECTIONS = [
    ("Accuracy against compute", "accuracy", accuracy),
    ("Inference throughput", "throughput", throughput),
    ("Where ViT-B/16's time goes", "block_profile", block_profile),
    ("Ours against keras-hub", "keras_hub_comparison", keras_hub),
    ("The TokenLearner layer alone", "token_learner_layer", token_learner_layer),
    ("Training throughput", "training_throughput", training_throughput),
    ("Mixed precision", "mixed_precision", mixed_precision),
]


def render():
    """The README's benchmark block: the targets, then every section."""
    return "\n\n".join([targets()] + [section(*entry) for entry in SECTIONS])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    text = render()
    print(text)
    if args.update_readme:
        harness.update_readme("benchmarks", text)


if __name__ == "__main__":
    main()
