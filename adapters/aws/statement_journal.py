"""Which Athena execution runs each statement of a stage, kept in S3.

A Lambda stage waits for its queries only a short while, then returns and is invoked again by
the state machine (Lambda stops at 900 s; a CTAS over a large table can take longer). Invoked
again, the stage runs its code from the top: every statement it reaches is looked up here, so
one that succeeded is not run again, one still running is waited for (never cleared and started
beside itself), and one that failed is started afresh under a new token. A statement is known by
its text, its target and how many times the same text came before it in this invocation, which
replays identically because the stage's code does.

StartQueryExecution's ClientRequestToken closes the last gap: a Lambda that died between starting
a query and recording its id starts it again with the same token and gets the same execution.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import asdict, dataclass

from adapters.aws.s3_store import S3ObjectStore


@dataclass
class Entry:
    token: str
    generation: int = 0
    execution_id: str | None = None


class StatementJournal:
    def __init__(self, store: S3ObjectStore, prefix: str) -> None:
        self.store, self.prefix = store, prefix.rstrip("/") + "/"
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def key(self, statement: str) -> str:
        digest = hashlib.sha256(statement.encode()).hexdigest()[:24]
        with self._lock:  # statements of one stage may start from several threads
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        return f"{digest}-{occurrence}"

    def _object(self, key: str) -> str:
        return f"{self.prefix}{key}.json"

    def get(self, key: str) -> Entry | None:
        try:
            return Entry(**json.loads(self.store.get(self._object(key))))
        except KeyError:
            return None

    def put(self, key: str, entry: Entry) -> None:
        self.store.put(self._object(key), json.dumps(asdict(entry)).encode())

    def entries(self) -> list[Entry]:
        """Every statement recorded under the prefix (a run's), for stopping the unfinished."""
        return [Entry(**json.loads(self.store.get(o.key))) for o in self.store.list(self.prefix)]


def token(key: str, generation: int) -> str:
    """ClientRequestToken: 32 to 128 characters, unique per statement and generation."""
    return f"batchml-{key}-g{generation}".ljust(32, "0")
