"""The results as a terminal table (rich) and as docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

GB = 1_000_000_000
# The seed's prediction containers: ~1,445 rows/s per 4-vCPU task (issue #7).
SEED_ROWS_PER_VCPU = 360
FINDINGS = Path(__file__).resolve().parent / "findings.md"
METHOD = """\
- **Pipeline**: `batchml run SPEC` as a child process, the example spec pointed at the data
  (`benchmarks/pipeline_run.py`); wall time from spawn to exit; stage seconds and row counts
  from the run's `run.json`, per-stage peak memory from the memory samples between the stage's
  start and end events.
- **Floor** (`benchmarks/floor.py`): the same work by hand in one process (wall time from
  spawn to exit, as for the pipeline): DuckDB reads the files (one per core, each on one
  thread) with its typed NDJSON reader, each line parsed once into the staging SELECT's struct
  (`adapters/local/typed_lines.py`; a compressed file as text lines), keeps the records with an
  id (first occurrence wins), runs the same staging and features SQL through the project's
  dialect bridge, samples the same training rows, fits
  with `domain.ml.training.fit`, computes the report's model diagnostics
  (`domain.ml.diagnostics.diagnose`), predicts with `TrainedModel.predict` in chunks of
  `rows_per_batch`, writes the final table to Parquet. No orchestration, retries, markers,
  rejects table or verification queries.
- **Ceiling** (`benchmarks/ceiling.py`): the fastest this work can run here, whatever the
  design. The same staging SELECT with its JSON read by DuckDB's own NDJSON reader straight
  from the files (no line numbers, rejects or duplicate check), timed alone; plus the floor's
  own time for everything after staging. A throughput the ceiling misses needs different work
  (data, model, results table) or a bigger machine, not better orchestration.
- **Row by row** (`benchmarks/rowwise.py`): the seed's approach on one core for 3,000
  unlabelled lines: `json.loads`, the features in plain Python, a one-row DataFrame,
  `TrainedModel.predict` (value and interval: the point model and the interval's model).
  Its predictions are compared with the floor's for the same ids.
- **Task overhead** (`benchmarks/overhead.py`): a 1,000-row batch planted beside the run,
  run through the pipeline's own task runner; its time minus the in-process prediction.
- **Concurrency**: the pipeline again at `max_concurrency = 1`, on the largest data set;
  prediction stage seconds compared.
- **Peak memory**: the largest sum of RSS over the child process and all its descendants,
  sampled every 50 ms (psutil)."""

SUMMARY_COLUMNS = (
    ("pipeline s", "pipeline_seconds", "{:,.1f}"),
    ("floor s", "floor_seconds", "{:,.1f}"),
    ("pipeline/floor", "pipeline_over_floor", "{:.2f}x"),
    ("source rows/s e2e", "source_rows_per_second", "{:,.0f}"),
    ("ceiling rows/s", "ceiling_rows_per_second", "{:,.0f}"),
    ("scoring rows/s/core", "scoring_rows_per_second_per_core", "{:,.0f}"),
    ("row-by-row rows/s/core", "rowwise_rows_per_second_per_core", "{:,.1f}"),
    ("scoring/row-by-row", "scoring_over_rowwise", "{:,.0f}x"),
    ("peak memory (pipeline)", "peak_memory_bytes", "gb"),
    ("peak memory (floor)", "floor_peak_memory_bytes", "gb"),
)


def _fmt(value: Any, pattern: str) -> str:
    if value is None:
        return "-"
    if pattern == "gb":
        return f"{value / GB:.2f} GB"
    return pattern.format(value)


def summary_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["source rows", "pipeline", *(label for label, _, _ in SUMMARY_COLUMNS)]
    rows = [
        [
            f"{int(n):,}",
            run["pipeline"]["status"],
            *(_fmt(run["summary"].get(key), pattern) for _, key, pattern in SUMMARY_COLUMNS),
        ]
        for n, run in sorted(results["runs"].items(), key=lambda item: int(item[0]))
    ]
    return header, rows


def stage_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    runs = sorted(results["runs"].items(), key=lambda item: int(item[0]))
    header = ["stage", "rows counted"]
    for n, _ in runs:
        header += [f"s @ {int(n):,}", f"rows/s @ {int(n):,}", f"peak @ {int(n):,}"]
    names = list(runs[0][1]["pipeline"]["stages"]) if runs else []
    rows = []
    for name in names:
        first = runs[0][1]["pipeline"]["stages"][name]
        row = [name, first["rows_key"] or "-"]
        for _, run in runs:
            stage = run["pipeline"]["stages"].get(name, {})
            row += [
                _fmt(stage.get("seconds"), "{:,.2f}"),
                _fmt(stage.get("rows_per_second"), "{:,.0f}"),
                _fmt(stage.get("peak_rss_bytes"), "gb"),
            ]
        rows.append(row)
    return header, rows


def target_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["target", "goal", "at", "measured", "status", "note"]
    rows = [[t["name"], t["target"], t["at"], t["measured"], t["status"], t["note"]] for t in results["targets"]]
    return header, rows


def print_report(console: Console, results: dict[str, Any]) -> None:
    for title, (header, rows) in (
        ("Pipeline vs floor vs row-by-row", summary_rows(results)),
        ("Pipeline stages", stage_rows(results)),
        ("Targets", target_rows(results)),
    ):
        table = Table(*header, title=title, header_style="bold")
        for row in rows:
            styled = [f"[green]{c}[/]" if c == "PASS" else f"[red]{c}[/]" if c == "MISS" else c for c in row]
            table.add_row(*styled)
        console.print(table)


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _details(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for n, run in sorted(results["runs"].items(), key=lambda item: int(item[0])):
        p, f = run["pipeline"], run.get("floor")
        out.append(f"### {int(n):,} source rows\n")
        out.append(
            f"- data: {run['dataset']['bytes'] / GB:.2f} GB of JSON lines in {run['dataset']['files']} files"
            + (
                f" (generated in {run['dataset']['generated_seconds']:,.0f} s, not timed)"
                if run["dataset"]["generated_seconds"] is not None
                else " (generated by an earlier run, reused)"
            )
        )
        if p["status"] != "SUCCEEDED":
            out.append(f"- **pipeline: run `{p['run_id']}` FAILED** after {p['wall_seconds']:,.1f} s: {p['failure']}")
        else:
            out.append(
                f"- pipeline: run `{p['run_id']}`, {p['source_lines']:,} lines -> {p['staged_rows']:,} staged + "
                f"{p['rejected_rows']:,} rejected; {p['predicted_rows']:,} predicted in {p['batches']['count']} "
                f"tasks (mean {_fmt(p['batches']['mean_seconds'], '{:.1f}')} s per task, max_concurrency "
                f"{p['max_concurrency']}); model {p['model_version']}, holdout R² {_fmt(p['holdout_r2'], '{:.3f}')}"
            )
        if f:
            phases = ", ".join(f"{k} {v:,.1f} s" for k, v in f["phases"].items())
            # Pickled bytes may differ for equal models: the holdout score is the comparison.
            same = (
                "same holdout R² as the pipeline's model"
                if f["holdout_r2"] == p["holdout_r2"]
                else (f"holdout R² {f['holdout_r2']:.6f} (the pipeline's: {_fmt(p['holdout_r2'], '{:.6f}')})")
            )
            out.append(
                f"- floor: {phases}; {f['counts']['staged_rows']:,} staged, {f['counts']['predicted_rows']:,} "
                f"predicted; {same}"
            )
        c = run.get("ceiling")
        if c and c.get("measured"):
            out.append(
                f"- ceiling: staging with DuckDB's JSON reader {c['staging_seconds']:,.1f} s (the floor's "
                f"{f['phases']['staging'] + f['phases']['dedupe']:,.1f} s with its dedupe), with the floor's later "
                f"phases {_fmt(run['summary'].get('ceiling_seconds'), '{:,.1f}')} s in all: "
                f"{_fmt(run['summary'].get('ceiling_rows_per_second'), '{:,.0f}')} source rows/s"
                if f
                else f"- ceiling: staging with DuckDB's JSON reader {c['staging_seconds']:,.1f} s"
            )
        elif c:
            out.append(f"- ceiling: not measured ({c.get('reason')})")
        r = run.get("rowwise")
        if r:
            split = ", ".join(f"{k} {v:.2f} s" for k, v in r["split_seconds"].items())
            agree = r.get("agreement_with_floor")
            agreed = (
                f"; predictions equal to the floor's for {agree['equal']:,}/{agree['compared']:,} rows" if agree else ""
            )
            out.append(f"- row-by-row: {r['rows']:,} rows in {r['seconds']:.1f} s ({split}){agreed}")
            scoring = run["summary"].get("scoring_rows_per_second_per_core")
            if scoring:
                out.append(
                    f"- against the seed's own figure ({SEED_ROWS_PER_VCPU} rows/s per vCPU, issue #7) scoring per "
                    f"core is {scoring / SEED_ROWS_PER_VCPU:,.0f}x; against this benchmark's row-by-row run "
                    "(the point and interval models per row, as `TrainedModel.predict`) "
                    f"{run['summary']['scoring_over_rowwise']:,.0f}x"
                )
        o = run.get("task_overhead")
        if o:
            out.append(
                f"- one prediction task on {o['task_rows']:,} rows through the `{o['task_runner']}` runner: "
                f"{o['task_median_seconds']:.2f} s (median of {len(o['task_seconds']) - 1}; the first, which "
                f"starts the runner, {o['first_task_seconds']:.2f} s), of which predicting "
                f"{o['predict_in_process_seconds']:.2f} s: overhead {o['overhead_seconds']:.2f} s per task. "
                f"A fresh interpreter per task (as a container starts): {o['fresh_interpreter_task_seconds']:.2f} s, "
                f"overhead {o['fresh_interpreter_overhead_seconds']:.2f} s"
            )
        out.append("")
    conc = results.get("concurrency") or {}
    if conc.get("runs"):
        runs = ", ".join(
            f"max_concurrency {c}: prediction stage {v['prediction_seconds']:.1f} s (run {v['wall_seconds']:.1f} s)"
            for c, v in sorted(conc["runs"].items())
        )
        out.append(f"Concurrency at {conc['rows']:,} rows: {runs}; speed-up {_fmt(conc.get('speedup'), '{:.2f}x')}.\n")
    return out


def render_docs(results: dict[str, Any]) -> str:
    m, load = results["machine"], results["load_average"]
    findings = FINDINGS.read_text().strip() if FINDINGS.exists() else "_No profile summary yet._"
    sections = [
        "# Benchmarks",
        "",
        "Generated by `python -m benchmarks ... --write-docs` from `results.json`; the text under "
        '"Where the time goes" comes from `benchmarks/findings.md`.',
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['memory_bytes'] / 2**30:.0f} GiB memory, {m['cpu_model']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- load average (1, 5, 15 min) at start {load['start']}, at end {load['end']}: "
        "other work shared the machine, so treat the numbers as noisy",
        "",
        "## Command",
        "",
        f"```\n{results['command']}\n```",
        "",
        f"Started {results['started_at']}, {results.get('seconds', 0):,.0f} s in all. The data is generated first "
        "(`examples.age.generate`, 0.1 % malformed lines, cached per row count and seed) and not timed; "
        "then read, untimed, before the pipeline, the floor and the ceiling, so each starts from the same "
        "warm page cache.",
        "",
        "## Method",
        "",
        METHOD,
        "",
        "## Results",
        "",
        _markdown(*summary_rows(results)),
        "",
        "Scoring rows/s per core: predicted rows / prediction stage seconds / cores used by the tasks. "
        "Row-by-row: the seed's approach on one core (see `benchmarks/rowwise.py`). Peak memory: the "
        "largest sum of RSS over the process and all its descendants, sampled every 50 ms.",
        "",
        "## Pipeline stages",
        "",
        _markdown(*stage_rows(results)),
        "",
        *_details(results),
        "## Targets",
        "",
        _markdown(*target_rows(results)),
        "",
        "## Where the time goes",
        "",
        findings,
        "",
    ]
    return "\n".join(sections)
