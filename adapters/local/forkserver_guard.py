"""Imported by the fork server when it starts (a preload, see forkserver_runner.py) and by
nothing else: the server then dies with the orchestrator that started it, and its tasks (each
arms the same signal against the server) die with the server."""

from __future__ import annotations

from adapters.local.parent_death import die_with_parent

die_with_parent()
