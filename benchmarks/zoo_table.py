"""Parameters and analytic GFLOPs at 224 px for every image entry of the zoo.

Prints a markdown table (plain vs TokenLearner vs TokenFuser) and writes it to
benchmarks/results/zoo_table.json; `--update-docs` replaces the table between
the `zoo-table` markers of docs/models.md. Models are built symbolically (no weights
are filled), so this takes about a minute on 2 CPU cores.

    python benchmarks/zoo_table.py --update-docs
"""

import argparse
import json

import harness

import keras_tokenlearner as ktl
from keras_tokenlearner.models.zoo import ZOO
from keras_tokenlearner.models.zoo import build_symbolic

VARIANTS = ("", "_tokenlearner", "_tokenfuser")


def measure():
    rows = {}
    for name in ZOO:  # the table's order: sizes, then patches
        if not name.startswith("vit_") or "_test_" in name:
            continue
        model = build_symbolic(name)
        rows[name] = {"parameters": model.count_params(), "gflops": ktl.flops(model).gflops}
    return rows


PAPER = {"vit_base_patch16": 55.6, "vit_base_patch16_tokenlearner": 28.7}  # GFLOPs at 384 px


def paper_comparison():
    lines = ["| model at 384 px | paper GFLOPs | ours | difference |", "|---|---:|---:|---:|"]
    for name, paper in PAPER.items():
        ours = ktl.flops(build_symbolic(name, image_shape=(384, 384, 3))).gflops
        lines.append(f"| `{name}` | {paper} | {ours:.1f} | {100 * (ours - paper) / paper:+.1f}% |")
    return "\n".join(lines)


def markdown(rows):
    lines = [
        "| model | params | GFLOPs | + TokenLearner params | GFLOPs "
        "| + TokenFuser params | GFLOPs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [n for n in rows if not n.endswith(("_tokenlearner", "_tokenfuser"))]:
        cells = [f"`{name}`"]
        for suffix in VARIANTS:
            row = rows[name + suffix]
            cells += [f"{row['parameters'] / 1e6:.2f}M", f"{row['gflops']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    rows = measure()
    table = paper_comparison() + "\n\n" + markdown(rows)
    print(table)
    harness.RESULTS.mkdir(parents=True, exist_ok=True)
    (harness.RESULTS / "zoo_table.json").write_text(json.dumps(rows, indent=1))
    if args.update_docs:
        harness.update_markdown(harness.DOCS / "models.md", "zoo-table", table)


if __name__ == "__main__":
    main()
