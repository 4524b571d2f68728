"""Prints the table of every CI row and exits non-zero if any row failed.

`python tests/smoke/summary.py DIRECTORY ROW...`: DIRECTORY holds
`results.tsv` (one `row<TAB>exit status<TAB>seconds` line per row run, as
.ci/run writes it) and `<row>.json` (the versions tests/smoke/versions.py
wrote). A ROW with no result line, or with a non-zero status, fails.
"""

import json
import os
import sys

import versions

COLUMNS = ["row", "result", "minutes", "python", *versions.COLUMNS]


def read_results(directory):
    """{row: (status, seconds)} from results.tsv."""
    results = {}
    path = os.path.join(directory, "results.tsv")
    if os.path.exists(path):
        with open(path) as handle:
            for line in handle:
                row, status, seconds = line.rstrip("\n").split("\t")
                results[row] = (int(status), int(seconds))
    return results


def read_versions(directory, row):
    path = os.path.join(directory, f"{row}.json")
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def table_rows(directory, rows):
    """One list of cells per row, and whether every row passed."""
    results = read_results(directory)
    cells, passed = [], True
    for row in rows:
        status, seconds = results.get(row, (None, None))
        result = {None: "not run", 0: "passed"}.get(status, f"FAILED ({status})")
        passed = passed and status == 0
        minutes = "-" if seconds is None else f"{seconds / 60:.1f}"
        stack = read_versions(directory, row)
        cells.append([row, result, minutes, *(stack.get(name, "?") for name in COLUMNS[3:])])
    return cells, passed


def main():
    directory, rows = sys.argv[1], sys.argv[2:]
    assert rows, "no rows named"
    cells, passed = table_rows(directory, rows)
    widths = [max(len(str(line[index])) for line in [COLUMNS, *cells])
              for index in range(len(COLUMNS))]
    print("=== support matrix")
    for line in [COLUMNS, *cells]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    print("all rows passed" if passed else "some rows FAILED")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
