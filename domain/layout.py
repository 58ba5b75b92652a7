"""Where everything lives, as keys relative to the output root.

The same layout under a local folder and an S3 prefix. A batch's output key is a pure
function of (run, batch): a retried task overwrites its own file, never adds a second one.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.ports.sql_engine import TableRef

BATCH_DIGITS = 5


def batch_label(batch: int) -> str:
    return f"{batch:0{BATCH_DIGITS}d}"


@dataclass(frozen=True)
class RunLayout:
    run_id: str
    table: str

    @property
    def run_prefix(self) -> str:
        return f"runs/{self.run_id}/"

    def _ref(self, part: str, partitioned_by: str | None = None) -> TableRef:
        # Catalog names carry the run id so concurrent runs' intermediate tables never collide.
        name = f"{self.table}_{part}_{self.run_id.replace('-', '_')}"
        return TableRef(name=name, location=f"{self.run_prefix}{part}/", partitioned_by=partitioned_by)

    @property
    def raw(self) -> TableRef:
        return self._ref("raw")

    @property
    def line_index(self) -> TableRef:
        """Every raw line's position, id and first-pass reject reason (see services/staging)."""
        return self._ref("line_index")

    @property
    def rejected_lines(self) -> TableRef:
        """Every rejected line's position and reason, without its text (see services/staging)."""
        return self._ref("rejected_lines")

    @property
    def staging(self) -> TableRef:
        return self._ref("staging")

    @property
    def rejects(self) -> TableRef:
        return self._ref("rejects")

    @property
    def features(self) -> TableRef:
        return self._ref("features")

    @property
    def scoring(self) -> TableRef:
        return self._ref("scoring", partitioned_by="batch")

    @property
    def predictions(self) -> TableRef:
        return self._ref("predictions", partitioned_by="batch")

    def scoring_batch_prefix(self, batch: int) -> str:
        return f"{self.run_prefix}scoring/batch={batch_label(batch)}/"

    def prediction_key(self, batch: int) -> str:
        return f"{self.run_prefix}predictions/batch={batch_label(batch)}/part.parquet"

    @property
    def model_key(self) -> str:
        return f"{self.run_prefix}model/model.joblib"

    @property
    def model_card_key(self) -> str:
        return f"{self.run_prefix}model/model_card.json"

    @property
    def diagnostics_key(self) -> str:
        """What the run report shows of the model (domain/ml/diagnostics.py)."""
        return f"{self.run_prefix}model/diagnostics.json"

    @property
    def report_key(self) -> str:
        return f"{self.run_prefix}report.html"

    @property
    def events_key(self) -> str:
        """The run's event log, where the event log is a file under the root (locally)."""
        return f"{self.run_prefix}events.jsonl"

    @property
    def state_key(self) -> str:
        return f"{self.run_prefix}run.json"

    @property
    def manifest_key(self) -> str:
        return f"{self.run_prefix}batches/manifest.json"

    @property
    def batch_items_key(self) -> str:
        """The batch list alone, as a JSON array: what a Step Functions Map item reader reads."""
        return f"{self.run_prefix}batches/items.json"

    @property
    def ingest(self) -> TableRef:
        """The ingest plan and its done records: bookkeeping rather than a table, removed with
        the intermediate tables so that a reused or abandoned run leaves nothing behind."""
        return self._ref("ingest")

    @property
    def ingest_items_key(self) -> str:
        """The ingest plan: every item of the source, as JSON (see domain/services/ingest.py)."""
        return f"{self.run_prefix}ingest/items.json"

    @property
    def ingest_done_prefix(self) -> str:
        """One object per ingested item, its line count in its name: one listing reads them all."""
        return f"{self.run_prefix}ingest/done/"

    def ingest_pending_key(self, round_number: int) -> str:
        """The items still to ingest, as a JSON list a Step Functions Map reads."""
        return f"{self.run_prefix}ingest/pending-{round_number}.json"

    @property
    def batch_slices_prefix(self) -> str:
        return f"{self.run_prefix}batches/slices/"

    def batch_slices_key(self, batch: int) -> str:
        """Where batch `batch`'s rows are in the features table (services/batch_slices.py): one
        small object per batch, so a task reads its own and not every batch's. Intermediate:
        cleanup removes them with the features table they point into."""
        return f"{self.batch_slices_prefix}batch={batch_label(batch)}.json"

    def batch_pending_key(self, round_number: int) -> str:
        """The batches still to predict when a run resumes, as a JSON list a Map reads."""
        return f"{self.run_prefix}batches/pending-{round_number}.json"

    @property
    def results(self) -> TableRef:
        return TableRef(name=self.table, location=results_location(self.table, self.run_id))

    @property
    def intermediate_tables(self) -> list[TableRef]:
        """Removed by cleanup once results are published. Model, manifest, rejects, run state
        and events stay: they explain the published results."""
        return [
            self.ingest,
            self.raw,
            self.line_index,
            self.rejected_lines,
            self.staging,
            self.features,
            self.scoring,
            self.predictions,
        ]

    @property
    def intermediate_prefixes(self) -> list[str]:
        return [table.location for table in self.intermediate_tables]


def is_data_key(key: str) -> bool:
    """Whether an object under a table's location holds data. Not: S3 folder markers (keys
    ending in '/', which some writers leave), nor names starting with '_' or '.' (_SUCCESS,
    temporary files). DuckDB names data files *.parquet; Athena's CTAS gives no extension."""
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith(("_", "."))


def results_prefix(table: str) -> str:
    return f"results/{table}/"


def results_location(table: str, run_id: str) -> str:
    return f"{results_prefix(table)}run_id={run_id}/"


def empty_results_location(table: str) -> str:
    """Where the results table points before its first publish: a folder nothing is written to
    (its '_' makes Athena skip it even if something were)."""
    return f"{results_prefix(table)}_empty/"


def published_history_key(table: str) -> str:
    return f"{results_prefix(table)}_published.json"
