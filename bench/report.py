"""One table: every figure beside its ceiling from the same run, as a ratio; also as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Row:
    section: str
    measure: str
    value: str
    ceiling: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""
    raw: dict[str, float | int | None] = field(default_factory=dict)


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}{unit}"
    return f"{value:.{digits}f}{unit}"


def ratio(value: float | None, ceiling: float | None, *, higher_is_better: bool) -> str:
    if not value or not ceiling:
        return ""
    share = value / ceiling
    return f"{share * 100:.0f}%" if higher_is_better else f"{share:.2f}x"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "MISSED")


def machine() -> dict[str, str]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pg = "?"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "postgresql": pg,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render(rows: list[Row], header: dict[str, str]) -> str:
    titles = ("measure", "value", "ceiling (same run)", "ratio", "target", "")
    table = [(r.measure, r.value, r.ceiling, r.ratio, r.target, r.verdict) for r in rows]
    widths = [max(len(t), *(len(row[i]) for row in table)) for i, t in enumerate(titles)]
    lines = [" | ".join(f"{k}: {v}" for k, v in header.items())]
    line = "  ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True))
    lines += [line, "-" * len(line)]
    section = None
    for r, row in zip(rows, table, strict=True):
        if r.section != section:
            section = r.section
            lines.append(f"[{section}]")
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], header: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": header, "rows": [asdict(r) for r in rows]}, indent=2))
