"""Benchmark the pipeline: data generation, the full build and the daily build.

Generates raw data for ``--customers`` customers into a work folder, then runs,
each through the same command line the users use (``segment-and-predict``):

1. ``generate``  - the synthetic raw data (once);
2. ``build``     - the full dbt build, training both models (once);
3. ``daily``     - the daily dbt build without retraining, ``--runs`` times on
   the same warehouse;
4. with ``--days N``: the build reads the export as it stood N - 1 days before
   its end, and N daily jobs follow, the export growing by one day before each
   (cut by ``data/export_cut.py``, not timed), each day's time printed;
5. with ``--compare-pandas PAIRS``: the daily job and the plain pandas + LightGBM
   script ``benchmarks/pandas_daily.py`` doing the same daily work, interleaved in
   alternating order on the same export and models; the wall and CPU ratios.

For every stage it records the wall time and the peak resident memory of the
stage's process tree (the largest single process: dbt runs the Python models,
so its peak includes LightGBM and KMeans), and for every dbt invocation the
time of each node from dbt's own ``run_results.json``. Machines are noisy:
the daily figures are medians (with min and max) over the runs.

Prints an aligned table and writes everything to a JSON file.

Usage:
    python scripts/benchmark.py --customers 240000 --runs 3 \\
        --out benchmarks/results/bench_240k.json
    python scripts/benchmark.py --customers 240000 --runs 0 --days 30 --compare-pandas 5

Generated data, warehouses, dbt's target folder and logs go to ``--workdir``
(default: a new temporary folder, removed at the end unless ``--keep``), never
into the repository. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
SCHEMA_VERSION = 2  # 2: days, pandas_comparison, config.days / pandas_pairs
GNU_TIME = "/usr/bin/time"
# the plain pandas + LightGBM script doing the same daily work (--compare-pandas)
PANDAS_SCRIPT = PROJECT_DIR / "benchmarks" / "pandas_daily.py"
TAIL_LINES = 60
VERSIONED_PACKAGES = (
    "duckdb",
    "lightgbm",
    "dbt-core",
    "dbt-duckdb",
    "scikit-learn",
    "pandas",
    "numpy",
    "pyarrow",
)
# Settings of profiles/profiles.yml that change the timings.
PROFILE_SETTINGS = ("SAP_DBT_THREADS", "SAP_DUCKDB_THREADS", "SAP_DUCKDB_MEMORY_LIMIT")


def profile_settings(environ: Mapping[str, str] = os.environ) -> dict[str, str | None]:
    """The value each of PROFILE_SETTINGS has in a run: the environment's, else the
    default profiles/profiles.yml gives it (``env_var('NAME', 'default')``, its one owner)."""
    text = (PROJECT_DIR / "profiles" / "profiles.yml").read_text()
    defaults = dict(re.findall(r"env_var\('(\w+)',\s*'([^']*)'\)", text))
    return {name: environ.get(name, defaults.get(name)) for name in PROFILE_SETTINGS}


# Fallback when GNU time is missing: a fresh Python process runs the stage and
# reports its own RUSAGE_CHILDREN, which then covers that stage's tree only.
_WRAPPER = """\
import json, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    json.dump({"maxrss_kib": ru.ru_maxrss, "user_s": ru.ru_utime, "sys_s": ru.ru_stime}, f)
sys.exit(rc)
"""


class StageError(RuntimeError):
    """A stage's command exited non-zero; ``log`` holds its output."""

    def __init__(self, name: str, returncode: int, log: Path) -> None:
        super().__init__(f"{name} failed with exit code {returncode} (output: {log})")
        self.name = name
        self.returncode = returncode
        self.log = log


@dataclass(frozen=True)
class Measurement:
    """One run of one stage."""

    wall_s: float
    peak_rss_mib: float
    user_s: float
    sys_s: float
    returncode: int


# --------------------------------------------------------------------------- measuring


def gnu_time_available() -> bool:
    """True if /usr/bin/time is GNU time (it knows -v and reports the peak RSS)."""
    if not os.access(GNU_TIME, os.X_OK):
        return False
    try:
        probe = subprocess.run(
            [GNU_TIME, "-v", "true"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0 and "Maximum resident set size" in probe.stderr


def _parse_gnu_time(text: str) -> tuple[float, float, float]:
    """(max RSS KiB, user s, system s) from the report of ``time -v``."""
    values = {}
    for key, pattern in {
        "maxrss": r"Maximum resident set size \(kbytes\):\s*(\d+)",
        "user": r"User time \(seconds\):\s*([\d.]+)",
        "sys": r"System time \(seconds\):\s*([\d.]+)",
    }.items():
        match = re.search(pattern, text)
        if match is None:
            raise RuntimeError(f"cannot read {key!r} from the GNU time report:\n{text}")
        values[key] = float(match.group(1))
    return values["maxrss"], values["user"], values["sys"]


def measure(
    command: Sequence[str],
    log: Path,
    *,
    method: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Measurement:
    """Run ``command`` in a fresh intermediate process; output goes to ``log``.

    ``method`` is ``"gnu-time"`` (``/usr/bin/time -v``) or ``"wrapper"`` (a tiny
    Python process reporting its RUSAGE_CHILDREN). Either way the peak RSS is
    that of the largest process of this command's tree alone: the benchmark's
    own RUSAGE_CHILDREN is never read, as it is a maximum over every child so far.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    report = log.with_suffix(".rusage")
    report.unlink(missing_ok=True)
    if method == "gnu-time":
        wrapped = [GNU_TIME, "-v", "-o", str(report), *command]
    elif method == "wrapper":
        wrapped = [sys.executable, "-c", _WRAPPER, str(report), *command]
    else:
        raise ValueError(f"unknown measuring method {method!r}")
    with log.open("w") as out:
        started = time.perf_counter()
        completed = subprocess.run(
            wrapped, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False
        )
        wall = time.perf_counter() - started
    if not report.exists():
        raise RuntimeError(f"no resource report from {wrapped[0]} (see {log})")
    text = report.read_text()
    if method == "gnu-time":
        maxrss_kib, user_s, sys_s = _parse_gnu_time(text)
    else:
        usage = json.loads(text)
        maxrss_kib, user_s, sys_s = usage["maxrss_kib"], usage["user_s"], usage["sys_s"]
    return Measurement(
        wall_s=round(wall, 3),
        peak_rss_mib=round(maxrss_kib / 1024, 1),
        user_s=round(user_s, 2),
        sys_s=round(sys_s, 2),
        returncode=completed.returncode,
    )


def summarize(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


# --------------------------------------------------------------------------- dbt results


def read_run_results(path: Path) -> dict:
    """Nodes of one dbt invocation from its run_results.json."""
    if not path.exists():
        raise RuntimeError(f"dbt wrote no {path}")
    data = json.loads(path.read_text())
    nodes = {}
    for result in data.get("results", []):
        unique_id = result["unique_id"]
        nodes[unique_id] = {
            "resource_type": unique_id.split(".", 1)[0],
            "status": result.get("status"),
            "execution_time": round(float(result.get("execution_time") or 0.0), 3),
        }
    return {
        "invocation_id": data.get("metadata", {}).get("invocation_id"),
        "elapsed_time": round(float(data.get("elapsed_time") or 0.0), 3),
        "nodes": nodes,
    }


def daily_node_medians(runs: Sequence[dict]) -> dict[str, dict]:
    """Per node over the daily runs: median/min/max execution time and the statuses."""
    merged: dict[str, dict] = {}
    for run in runs:
        for unique_id, node in run["nodes"].items():
            entry = merged.setdefault(
                unique_id,
                {"resource_type": node["resource_type"], "statuses": [], "times": []},
            )
            entry["statuses"].append(node["status"])
            entry["times"].append(node["execution_time"])
    return {
        unique_id: {
            "resource_type": entry["resource_type"],
            "statuses": entry["statuses"],
            "execution_time": summarize(entry["times"]),
            "runs": entry["times"],
        }
        for unique_id, entry in sorted(merged.items())
    }


def totals_by_type(nodes: dict[str, dict], key=lambda node: node["execution_time"]) -> dict:
    totals: dict[str, dict] = {}
    for node in nodes.values():
        entry = totals.setdefault(node["resource_type"], {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += key(node)
    return {kind: {**t, "seconds": round(t["seconds"], 3)} for kind, t in sorted(totals.items())}


# --------------------------------------------------------------------------- environment


def cli_command() -> list[str]:
    """The project's command line, from the same environment as this Python."""
    script = Path(sys.executable).parent / "segment-and-predict"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "segment_and_predict"]


def machine_info() -> dict:
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        total_mib = None
    try:
        available_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        available_cpus = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_available": available_cpus,
        "total_memory_mib": round(total_mib) if total_mib else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
    }


def git_commit(project_dir: Path) -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=project_dir, capture_output=True, text=True, check=False
            )
        except OSError:
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def raw_data_info(raw: Path) -> dict:
    """Size of the raw folder and rows per table (from the Parquet footers)."""
    import pyarrow.parquet as pq

    tables = {}
    size = 0
    for path in sorted(raw.glob("*.parquet")):
        size += path.stat().st_size
        tables[path.stem] = pq.ParquetFile(path).metadata.num_rows
    return {"size_mib": round(size / 2**20, 1), "rows": tables}


def file_mib(path: Path) -> float | None:
    return round(path.stat().st_size / 2**20, 1) if path.exists() else None


# --------------------------------------------------------------------------- the benchmark


@dataclass
class Workdir:
    root: Path
    created: bool

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "bench.duckdb"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt_target"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def cleanup(self) -> None:
        if self.created:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        for path in (self.raw, self.warehouse.parent, self.dbt_target, self.logs):
            shutil.rmtree(path, ignore_errors=True)


def prepare_workdir(workdir: str | None, project_dir: Path) -> Workdir:
    if workdir is None:
        return Workdir(Path(tempfile.mkdtemp(prefix="sap-bench-")), created=True)
    root = Path(workdir).resolve()
    if root == project_dir or project_dir in root.parents:
        raise SystemExit(f"--workdir must be outside the repository ({project_dir}): {root}")
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"--workdir must be empty or not exist yet: {root}")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    return Workdir(root, created=created)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_stage(
    name: str, command: Sequence[str], work: Workdir, *, method: str, env: dict[str, str]
) -> Measurement:
    log_path = work.logs / f"{name}.log"
    m = measure(command, log_path, method=method, env=env, cwd=PROJECT_DIR)
    if m.returncode != 0:
        raise StageError(name, m.returncode, log_path)
    log(f"{name}: {m.wall_s:.1f} s, peak RSS {m.peak_rss_mib:,.0f} MiB")
    return m


def run_dbt_stage(
    name: str, command: Sequence[str], work: Workdir, *, method: str, env: dict[str, str]
) -> tuple[Measurement, dict]:
    """A dbt stage; its run_results.json is parsed (and kept) before the next run."""
    run_results = work.dbt_target / "run_results.json"
    run_results.unlink(missing_ok=True)
    m = run_stage(name, command, work, method=method, env=env)
    shutil.copy2(run_results, work.logs / f"{name}.run_results.json")
    return m, read_run_results(run_results)


def stage_summary(runs: Sequence[Measurement]) -> dict:
    return {
        "runs": [asdict(m) for m in runs],
        "wall_s": summarize([m.wall_s for m in runs]),
        "peak_rss_mib": summarize([m.peak_rss_mib for m in runs]),
    }


def _cut_for_day(work: Workdir, day: dt.date) -> Path:
    """The export as it stood on the morning of ``day``, in the one folder the daily job
    reads (``<workdir>/export``), replaced whole, as a user's export folder is each day."""
    from segment_and_predict.data.export_cut import cut_export

    export, incoming = work.root / "export", work.root / "export.incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    cut_export(work.raw, incoming, day.isoformat())
    shutil.rmtree(export, ignore_errors=True)
    incoming.rename(export)
    return export


def run_days(
    days: int, first_day: dt.date, cli: list[str], job_args: list[str], work: Workdir, **kw
) -> tuple[list[Measurement], list[dict], list[dict]]:
    """``days`` consecutive daily jobs, the export growing by one day before each."""
    runs, results, rows = [], [], []
    for k in range(days):
        day = first_day + dt.timedelta(days=k)
        if k:  # the build already left day 1's export in place
            _cut_for_day(work, day)
        log(f"day {k + 1}/{days}: export up to {day} (not timed), daily job")
        m, r = run_dbt_stage(f"day_{k + 1:02d}", [*cli, "daily", *job_args], work, **kw)
        runs.append(m)
        results.append(r)
        rows.append({"day": k + 1, "scoring_date": day.isoformat(), **asdict(m)})
        rows[-1]["dbt_elapsed_s"] = r["elapsed_time"]
        # the file every job copies first (docs/operations.md): its growth is the
        # job's growth
        rows[-1]["warehouse_mib"] = file_mib(work.warehouse)
    return runs, results, rows


def run_pandas_pairs(
    runs: int, cli: list[str], job_args: list[str], export: Path, work: Workdir, **kw
) -> dict:
    """``runs`` pairs of (the project's daily job, the pandas script) on the same export and
    models, interleaved and in alternating order (ABBA), so drift in the machine's load
    falls on both alike."""
    pandas_cmd = [sys.executable, str(PANDAS_SCRIPT), "--raw-data-path", str(export)]
    pandas_cmd += ["--warehouse", str(work.warehouse), "--out", str(work.root / "pandas_out")]
    project, plain = [], []
    for i in range(runs):
        order = ("project", "pandas") if i % 2 == 0 else ("pandas", "project")
        for who in order:
            log(f"pair {i + 1}/{runs}: {who}")
            if who == "project":
                m, _ = run_dbt_stage(
                    f"pair_{i + 1}_project", [*cli, "daily", *job_args], work, **kw
                )
                project.append(m)
            else:
                plain.append(run_stage(f"pair_{i + 1}_pandas", pandas_cmd, work, **kw))

    def cpu(m: Measurement) -> float:
        return m.user_s + m.sys_s

    med = statistics.median
    return {
        "script": str(PANDAS_SCRIPT.relative_to(PROJECT_DIR)),
        "project": stage_summary(project),
        "pandas": stage_summary(plain),
        "project_cpu_s": summarize([cpu(m) for m in project]),
        "pandas_cpu_s": summarize([cpu(m) for m in plain]),
        "wall_ratio": round(med(m.wall_s for m in project) / med(m.wall_s for m in plain), 3),
        "cpu_ratio": round(med(map(cpu, project)) / med(map(cpu, plain)), 3),
    }


def run_benchmark(
    *,
    customers: int,
    runs: int,
    seed: int,
    work: Workdir,
    method: str,
    days: int = 0,
    pandas_pairs: int = 0,
) -> dict:
    cli = cli_command()
    env = dict(os.environ)
    # dbt's target folder (run_results.json, partial parse) and its log in the
    # work folder: nothing is written into the repository, and other dbt runs in
    # the project folder cannot overwrite the run results being read.
    env["DBT_TARGET_PATH"] = str(work.dbt_target)
    env["DBT_LOG_PATH"] = str(work.logs / "dbt")
    env["DBT_USE_COLORS"] = "false"  # plain stage logs (their tail is shown on failure)
    env.pop("SAP_DUCKDB_PATH", None)
    job_args = ["--warehouse", str(work.warehouse), "--project-dir", str(PROJECT_DIR)]

    log(f"work folder {work.root}; measuring with {method}")
    log(f"generate: {customers:,} customers (seed {seed})")
    generate = run_stage(
        "generate",
        [*cli, "generate", "--customers", str(customers), "--out", str(work.raw)]
        + ["--seed", str(seed), "--quiet"],
        work,
        method=method,
        env=env,
    )
    raw_info = raw_data_info(work.raw)
    export, first_day, day_rows = work.raw, None, []
    if days:
        from segment_and_predict.data.export_cut import last_event_date

        # day 1 scores the morning `days - 1` days before the export's own default date
        first_day = last_event_date(work.raw) + dt.timedelta(days=2 - days)
        export = _cut_for_day(work, first_day)
    job_args = ["--raw-data-path", str(export), *job_args]

    log(f"build: full dbt build with training (export up to {first_day or 'its end'})")
    build, build_results = run_dbt_stage(
        "build", [*cli, "build", *job_args], work, method=method, env=env
    )
    warehouse_after_build = file_mib(work.warehouse)

    daily_runs: list[Measurement] = []
    daily_results: list[dict] = []
    if days:
        daily_runs, daily_results, day_rows = run_days(
            days, first_day, cli, job_args, work, method=method, env=env
        )
    for i in range(1, runs + 1):
        log(f"daily {i}/{runs}: dbt build without retraining")
        m, results = run_dbt_stage(
            f"daily_{i}", [*cli, "daily", *job_args], work, method=method, env=env
        )
        daily_runs.append(m)
        daily_results.append(results)
    daily_nodes = daily_node_medians(daily_results)
    pairs = (
        run_pandas_pairs(pandas_pairs, cli, job_args, export, work, method=method, env=env)
        if pandas_pairs
        else None
    )

    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {
            "customers": customers,
            "runs": runs,
            "days": days,
            "pandas_pairs": pandas_pairs,
            "seed": seed,
            "measure": method,
            "command": cli,
            "project_dir": str(PROJECT_DIR),
            "git": git_commit(PROJECT_DIR),
            "profile": profile_settings(),
        },
        "machine": machine_info(),
        "data": {
            "raw": raw_info,
            "warehouse_mib": {
                "after_build": warehouse_after_build,
                "after_daily": file_mib(work.warehouse),
            },
        },
        "stages": {
            "generate": stage_summary([generate]),
            "build": stage_summary([build]),
            "daily": stage_summary(daily_runs),
        },
        "days": day_rows,
        "pandas_comparison": pairs,
        "dbt": {
            "build": {
                "elapsed_s": build_results["elapsed_time"],
                "totals_by_type": totals_by_type(build_results["nodes"]),
                "nodes": dict(sorted(build_results["nodes"].items())),
            },
            "daily": {
                "elapsed_s": summarize([r["elapsed_time"] for r in daily_results]),
                "elapsed_s_runs": [r["elapsed_time"] for r in daily_results],
                "totals_by_type": totals_by_type(
                    daily_nodes, key=lambda node: node["execution_time"]["median"]
                ),
                "nodes": daily_nodes,
            },
        },
    }


# --------------------------------------------------------------------------- reporting


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if r else str(c).ljust(w)
            for c, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _short_id(unique_id: str, width: int = 64) -> str:
    parts = unique_id.split(".")
    # model.segment_and_predict.name -> model.name; tests keep their readable name
    name = ".".join([parts[0], *parts[2:]]) if len(parts) > 2 else unique_id
    return name if len(name) <= width else name[: width - 3] + "..."


def format_report(result: dict, top: int = 20) -> str:
    config, machine, stages = result["config"], result["machine"], result["stages"]
    versions = machine["versions"]
    mem = machine["total_memory_mib"]
    lines = [
        f"segment-and-predict benchmark: {config['customers']:,} customers, "
        f"{config['runs']} daily run(s), seed {config['seed']}",
        f"machine: {machine['cpus_available']} of {machine['cpu_count']} CPUs, "
        f"{mem / 1024:.1f} GiB RAM; Python {machine['python']}, duckdb {versions['duckdb']}, "
        f"lightgbm {versions['lightgbm']}, dbt-core {versions['dbt-core']}"
        if mem
        else f"machine: {machine['cpu_count']} CPUs; Python {machine['python']}",
        f"raw data: {result['data']['raw']['size_mib']:,} MiB; warehouse: "
        f"{result['data']['warehouse_mib']['after_daily']} MiB; peak RSS measured with "
        f"{config['measure']}",
        "Shared machines are noisy: compare medians, not single runs.",
        "",
    ]
    labels = {
        "generate": "generate (raw data)",
        "build": "build (full, with training)",
        "daily": "daily (no retraining)",
    }
    rows = []
    for key, label in labels.items():
        s = stages[key]
        rows.append(
            [
                label,
                str(len(s["runs"])),
                f"{s['wall_s']['median']:.1f}",
                f"{s['wall_s']['min']:.1f}",
                f"{s['wall_s']['max']:.1f}",
                f"{statistics.median(m['user_s'] + m['sys_s'] for m in s['runs']):.1f}",
                f"{s['peak_rss_mib']['median']:,.0f}",
                f"{s['peak_rss_mib']['max']:,.0f}",
            ]
        )
    header = ["stage", "runs", "wall s (median)", "min", "max", "CPU s (median)"]
    header += ["peak RSS MiB (median)", "max"]
    lines.append(_table(header, rows, [False] + [True] * 7))

    build_nodes = result["dbt"]["build"]["nodes"]
    daily_nodes = result["dbt"]["daily"]["nodes"]
    every = set(build_nodes) | set(daily_nodes)

    def build_time(uid: str) -> float | None:
        return build_nodes[uid]["execution_time"] if uid in build_nodes else None

    def daily_time(uid: str) -> float | None:
        return daily_nodes[uid]["execution_time"]["median"] if uid in daily_nodes else None

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    slowest = sorted(every, key=lambda u: -max(build_time(u) or 0.0, daily_time(u) or 0.0))
    node_rows = [[_short_id(u), fmt(build_time(u)), fmt(daily_time(u))] for u in slowest[:top]]
    lines += [
        "",
        f"slowest dbt nodes ({min(top, len(every))} of {len(every)}; execution_time from "
        "run_results.json; daily = median; '-' = not run)",
        _table(["node", "build s", "daily s (median)"], node_rows, [False, True, True]),
        "",
    ]
    build_totals = result["dbt"]["build"]["totals_by_type"]
    daily_totals = result["dbt"]["daily"]["totals_by_type"]
    total_rows = []
    for kind in sorted(set(build_totals) | set(daily_totals)):
        b, d = build_totals.get(kind), daily_totals.get(kind)
        total_rows.append(
            [
                kind,
                str(b["count"]) if b else "-",
                fmt(b["seconds"]) if b else "-",
                str(d["count"]) if d else "-",
                fmt(d["seconds"]) if d else "-",
            ]
        )
    total_rows.append(
        [
            "dbt elapsed",
            "",
            fmt(result["dbt"]["build"]["elapsed_s"]),
            "",
            fmt(result["dbt"]["daily"]["elapsed_s"]["median"]),
        ]
    )
    lines.append(
        _table(
            ["node type", "build n", "build s", "daily n", "daily s (median)"],
            total_rows,
            [False, True, True, True, True],
        )
    )
    lines += format_days(result.get("days") or [])
    lines += format_pandas_comparison(result.get("pandas_comparison"))
    return "\n".join(lines)


def format_days(days: Sequence[dict]) -> list[str]:
    """The run of consecutive days: each day's time, and the last days against the first."""
    if not days:
        return []
    rows = [
        [
            str(d["day"]),
            d["scoring_date"],
            f"{d['wall_s']:.1f}",
            f"{d['user_s'] + d['sys_s']:.1f}",
            f"{d['dbt_elapsed_s']:.1f}",
            f"{d['peak_rss_mib']:,.0f}",
            "" if d.get("warehouse_mib") is None else f"{d['warehouse_mib']:,.0f}",
        ]
        for d in days
    ]
    walls = [d["wall_s"] for d in days]
    n = min(5, len(walls))
    first, last = statistics.median(walls[:n]), statistics.median(walls[-n:])
    header = [
        "day",
        "scoring date",
        "wall s",
        "CPU s",
        "dbt elapsed s",
        "peak RSS MiB",
        "warehouse MiB after",
    ]
    return [
        "",
        f"{len(days)} consecutive days, the export growing by one day before each "
        "(the cut is not timed)",
        _table(header, rows, [True, False, True, True, True, True, True]),
        f"last day / first day: {walls[-1] / walls[0]:.3f} (wall); median of the last {n} / "
        f"median of the first {n}: {last / first:.3f}",
    ]


def format_pandas_comparison(pairs: dict | None) -> list[str]:
    """The paired, interleaved comparison with the plain pandas + LightGBM script."""
    if not pairs:
        return []
    rows = []
    for who in ("project", "pandas"):
        stage, cpu = pairs[who], pairs[f"{who}_cpu_s"]
        rows.append(
            [
                "project daily job" if who == "project" else pairs["script"],
                str(len(stage["runs"])),
                f"{stage['wall_s']['median']:.1f}",
                f"{stage['wall_s']['min']:.1f}",
                f"{stage['wall_s']['max']:.1f}",
                f"{cpu['median']:.1f}",
                f"{stage['peak_rss_mib']['median']:,.0f}",
            ]
        )
    header = ["same daily work", "runs", "wall s (median)", "min", "max", "CPU s (median)"]
    return [
        "",
        "paired with the plain pandas + LightGBM script (interleaved, alternating order)",
        _table(header + ["peak RSS MiB"], rows, [False] + [True] * 6),
        f"project / pandas, medians: wall {pairs['wall_ratio']:.2f}x, "
        f"CPU {pairs['cpu_ratio']:.2f}x",
    ]


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark data generation, the full build and the daily build.",
    )
    parser.add_argument(
        "--customers", type=int, default=240_000, help="customers to generate (default: 240000)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="daily builds to run, >= 1 (default: 3)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON file to write (default: benchmarks/results/bench_<customers>.json)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="empty or new folder outside the repository for data, warehouse and dbt "
        "files (default: a new temporary folder)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=0,
        help="also run this many consecutive daily jobs after the build, the export growing "
        "by one day before each (the build reads the export as it stood on day 1; e.g. 30)",
    )
    parser.add_argument(
        "--compare-pandas",
        type=int,
        default=0,
        metavar="PAIRS",
        help="also run this many interleaved pairs of the daily job and the plain pandas + "
        "LightGBM script benchmarks/pandas_daily.py on the same export (e.g. 5)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder at the end")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default: 42)")
    parser.add_argument(
        "--measure",
        choices=["auto", "gnu-time", "wrapper"],
        default="auto",
        help="how to read peak memory: GNU time if present (auto), or a Python wrapper",
    )
    parser.add_argument(
        "--top", type=int, default=20, help="dbt nodes shown in the table (JSON has all)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.runs < 0 or args.days < 0 or args.compare_pandas < 0:
        raise SystemExit("--runs, --days and --compare-pandas cannot be negative")
    if args.runs + args.days < 1:
        raise SystemExit("--runs or --days must be at least 1 (the daily job's figures)")
    if args.days == 1:
        raise SystemExit("--days must be at least 2 (day 1 is compared with the last day)")
    if args.customers < 1:
        raise SystemExit("--customers must be at least 1")
    method = args.measure
    if method == "auto":
        method = "gnu-time" if gnu_time_available() else "wrapper"
    elif method == "gnu-time" and not gnu_time_available():
        raise SystemExit(f"GNU time not found at {GNU_TIME}")
    out = args.out or PROJECT_DIR / "benchmarks" / "results" / f"bench_{args.customers}.json"

    work = prepare_workdir(args.workdir, PROJECT_DIR)
    keep = args.keep
    try:
        result = run_benchmark(
            customers=args.customers,
            runs=args.runs,
            seed=args.seed,
            work=work,
            method=method,
            days=args.days,
            pandas_pairs=args.compare_pandas,
        )
    except StageError as exc:
        keep = True
        print(f"\n{exc}\n--- last {TAIL_LINES} lines of {exc.log} ---", file=sys.stderr)
        print(tail(exc.log), file=sys.stderr)
        print(f"--- work folder kept: {work.root}", file=sys.stderr)
        return 1
    except BaseException:
        keep = True
        print(f"benchmark interrupted; work folder kept: {work.root}", file=sys.stderr)
        raise
    finally:
        if not keep:
            work.cleanup()

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(format_report(result, top=args.top))
    print(f"\nwrote {out}" + (f"; work folder kept: {work.root}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
