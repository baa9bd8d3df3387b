"""Ledger spreadsheet benchmark: write and read back the household survey of 10,000 households.

    .venv/bin/python -m tests.bench.ledger_xlsx [--households 10000] [--repeat 3]

stdout: one JSON line per measurement, nothing else:
    {"what", "rows", "seconds", "rows_per_s", "cpu_seconds"}
`what` is `write_households` (households → .xlsx bytes) or `read_households` (bytes →
checked households); `rows` counts households. Each is the median of `--repeat` runs;
`cpu_seconds` (this process's CPU time) is what a busy shared machine disturbs less.
stderr: the file's size and its sheet rows (one per person).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY
from services.gateway.ledgers.xlsx import read_households, write_ledger

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英建国华明丽芳伟强军平静敏燕红霞"
COMPOUNDS = ["幸福楼院", "和平楼院", "东津小区", "绵州花园"]


def a_household(number: int, rng: random.Random) -> dict[str, Any]:
    def person(**extra: Any) -> dict[str, Any]:
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
        birth = f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}"
        return {"name": name, "sex": rng.choice("12"), "birth_month": birth, "ethnicity": "01", **extra}

    members = [person(relation=rng.choice(["10", "20", "30", "51", "52"])) for _ in range(rng.randint(0, 3))]
    return {
        "head": person(political_status=rng.choice(["01", "13"]), phone=f"138{number:08d}", work_unit="绵阳市第一纺织厂"),
        "members": members,
        "address": {"compound": rng.choice(COMPOUNDS), "building": f"{number // 40 + 1}栋", "room": str(number)},
        "can_offer": "会修水电" if number % 3 == 0 else None,
        "needs": "老人助餐" if number % 4 == 0 else None,
    }


def timed(repeat: int, run: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """Median wall-clock and CPU seconds of `repeat` runs, and the last run's result."""
    runs = []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run()
        runs.append((time.perf_counter() - started, time.process_time() - started_cpu))
    wall, cpu = statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)
    return (wall, cpu), result


def report(what: str, rows: int, seconds: tuple[float, float]) -> None:
    wall, cpu = seconds
    figures = {"what": what, "rows": rows, "seconds": round(wall, 3), "rows_per_s": round(rows / wall)}
    print(json.dumps({**figures, "cpu_seconds": round(cpu, 3)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(5050)
    households = [a_household(number, rng) for number in range(args.households)]

    seconds, data = timed(
        args.repeat, lambda: write_ledger(HOUSEHOLD_SURVEY, households, "绵州社区", date(2025, 3, 1))
    )
    people = sum(1 + len(household["members"]) for household in households)
    print(f"{len(data) / 1e6:.1f} MB, {people} people", file=sys.stderr)
    report("write_households", args.households, seconds)

    seconds, (parsed, errors) = timed(args.repeat, lambda: read_households(data))
    if errors or len(parsed) != args.households:
        raise SystemExit(f"read back {len(parsed)} households and {len(errors)} errors: {errors[:3]}")
    report("read_households", args.households, seconds)


if __name__ == "__main__":
    main()
