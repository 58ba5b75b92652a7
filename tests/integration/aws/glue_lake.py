"""A crash test's lake in S3 with Glue as its catalog (moto's server), DuckDB reading it through
pyarrow: the hybrid backend's adapters. Clients are made per context, so a forked child never
shares a connection with its parent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pyarrow.fs as pafs

from adapters.aws.glue_catalog import GlueCatalog
from adapters.aws.s3_store import S3ObjectStore
from adapters.local.duckdb_s3_engine import DuckDBOnS3SqlEngine
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.layout import is_data_key
from tests.integration.lake_runs import TABLE, ListEventLog, lake_spec

PREFIX = "lake"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@dataclass
class GlueLake:
    endpoint: str
    bucket: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, **CREDENTIALS)  # type: ignore[call-overload]

    def new(self) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=self.bucket)
        s3.put_object(Bucket=self.bucket, Key="source/in.jsonl", Body=b'{"id": "1"}\n')

    def catalog(self) -> GlueCatalog:
        return GlueCatalog(self.client("glue"), self.bucket.replace("-", "_"), self.bucket, PREFIX)

    def store(self) -> S3ObjectStore:
        return S3ObjectStore(self.client("s3"), self.bucket, PREFIX)

    def context(self, run_id: str) -> RunContext:
        scheme, _, host = self.endpoint.partition("://")
        fs = pafs.S3FileSystem(
            access_key="testing", secret_key="testing", region="us-east-1", endpoint_override=host, scheme=scheme
        )
        store = self.store()
        ports = Ports(
            engine=DuckDBOnS3SqlEngine(fs, self.bucket, PREFIX, threads=1),
            store=store,
            catalog=self.catalog(),
            run_store=ObjectStoreRunStore(store),
            events=ListEventLog(),
        )
        spec = lake_spec(f"s3://{self.bucket}/{PREFIX}", source=f"s3://{self.bucket}/source/")
        return RunContext(spec=spec, run_id=run_id, ports=ports)

    def shown(self) -> tuple[set[str], set[str]]:
        """Athena cannot run here: a table counts as queryable when its location holds data."""
        catalog, store = self.catalog(), self.store()
        shown: list[set[str]] = []
        for name in (TABLE, f"{TABLE}_rejects"):
            location = catalog.location(name) or ""
            assert any(is_data_key(o.key) for o in store.list(location)), f"{name} shows {location!r}: no data there"
            run = location.split("run_id=")[1] if "run_id=" in location else location.split("/")[1]
            shown.append({run.rstrip("/")})
        return shown[0], shown[1]
