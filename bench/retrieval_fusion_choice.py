"""Choose hybrid search's fusion from `retrieval_quality.py --sweep` runs on the tuning sites:
the setting whose worst figure against vector search, over every site and both of MRR@10 and
R@5, is best (hybrid that never hurts), then the best mean MRR@10 gain.

    .venv/bin/python bench/retrieval_quality.py --sites postgresql --sweep > pg.log
    ...
    .venv/bin/python bench/retrieval_fusion_choice.py pg.log apache.log handbook.log [--top 10]

Reads the JSON lines the runs printed (the vector row and the sweep rows of each site); prints
the chosen setting and the runners-up with their per-site differences.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

METRICS = ("MRR@10", "R@5")


def read_runs(paths: list[Path]) -> tuple[dict[str, dict], dict[str, dict[str, dict]]]:
    """Per site: the vector row, and each swept setting's scores (by the setting as JSON)."""
    vector: dict[str, dict] = {}
    swept: dict[str, dict[str, dict]] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            if row.get("mode") == "vector":
                vector[row["site"]] = row
            elif "sweep" in row:
                key = json.dumps(row["sweep"], sort_keys=True)
                swept.setdefault(key, {})[row["site"]] = row
    return vector, swept


def ranked_settings(vector: dict[str, dict], swept: dict[str, dict[str, dict]]) -> list[dict]:
    """Every setting swept on all the sites, best first: (worst difference, mean MRR gain)."""
    sites = sorted(vector)
    out = []
    for key, by_site in swept.items():
        if sorted(by_site) != sites:
            continue
        deltas = {
            site: {m: round(by_site[site][m] - vector[site][m], 3) for m in METRICS}
            for site in sites
        }
        worst = min(d[m] for d in deltas.values() for m in METRICS)
        gain = statistics.mean(d["MRR@10"] for d in deltas.values())
        out.append(
            {
                "setting": json.loads(key),
                "worst": worst,
                "mean_mrr_gain": round(gain, 4),
                "deltas": deltas,
            }
        )
    return sorted(out, key=lambda r: (-r["worst"], -r["mean_mrr_gain"], json.dumps(r["setting"])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    vector, swept = read_runs(args.logs)
    print(json.dumps({"sites": sorted(vector), "settings": len(swept)}))
    for row in ranked_settings(vector, swept)[: args.top]:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
