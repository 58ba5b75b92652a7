"""Batch planning killed while it writes its batches' slices (issue 17: batches are slices of
the features table, each batch's in its own object, the manifest written last) runs again to
the same batches: every row to score in exactly one batch, nothing planned twice or lost."""

from __future__ import annotations

from pathlib import Path

from adapters.local.filesystem_store import FilesystemObjectStore
from domain.manifest import slices_from_bytes
from domain.services.batch_slices import read_slices
from domain.services.batching import load_manifest, run_batch_planning
from domain.services.features import run_features
from domain.services.staging import run_staging
from tests.e2e.projects import houses_project, listing_lines, write_lines
from tests.integration.crash_points import arm, run_in_child
from tests.integration.test_lines_in_place import staging_context


def test_batch_planning_killed_between_slice_writes_plans_the_same_batches_again(tmp_path: Path) -> None:
    houses_project(tmp_path, rows=0, batches={"rows_per_batch": 40, "max_concurrency": 2})
    write_lines(tmp_path / "data" / "a.jsonl", listing_lines(600, seed=1))
    ctx = staging_context(tmp_path)
    run_staging(ctx)
    run_features(ctx)
    store, layout = ctx.ports.store, ctx.layout
    slices_folder = Path(ctx.spec.output.root) / layout.batch_slices_prefix

    def work() -> None:
        # Dies as the third slice object's write starts (they are written on several threads,
        # so up to two are finished): the manifest, written after them all, is not there yet.
        arm([(FilesystemObjectStore, "put")], kill_at=3)
        run_batch_planning(ctx)

    assert run_in_child(work) == -9
    left = len(list(slices_folder.glob("*.json")))
    assert left <= 2 and not store.exists(layout.manifest_key)

    report = run_batch_planning(ctx)  # what a resumed run does: the stage again, from its start
    manifest = load_manifest(ctx)
    assert report["batch_rows"] == "features row groups" and manifest.sliced
    assert len(list(slices_folder.glob("*.json"))) == len(manifest.batches) == report["batches"] > left
    ids: list[str] = []
    for entry in manifest.batches:
        table = read_slices(
            store, slices_from_bytes(store.get(layout.batch_slices_key(entry.batch))), "sale_price", "t"
        )
        assert table.num_rows == entry.rows
        ids += table.column("listing_id").to_pylist()
    scoring = ctx.ports.engine.query(
        "SELECT listing_id FROM {{ f }} WHERE sale_price IS NULL", {"f": layout.features}, sql_name="t"
    )
    assert sorted(ids) == sorted(scoring.column(0).to_pylist()) and len(set(ids)) == len(ids) == report["scoring_rows"]
