"""What one benchmark run seeds, loads and measures, in full and in quick mode."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SEED_DIR = ROOT / ".seed"
RESULTS_DIR = ROOT / "results"
# Handed to the server as AUTH_SECRET; the bench mints its tokens with the same secret.
SECRET = "bench-only-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "bench password 1"
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class SeedSpec:
    """The data set; its `label` names the database and proves a stored seed matches."""

    name: str
    users: int
    tasks_per_user: int
    heavy_tasks: int

    @property
    def total_tasks(self) -> int:
        return self.users * self.tasks_per_user + self.heavy_tasks

    @property
    def label(self) -> str:
        return (
            f"bench-seed v4 users={self.users} per_user={self.tasks_per_user} "
            f"heavy={self.heavy_tasks}"
        )


FULL = SeedSpec("full", users=1000, tasks_per_user=1000, heavy_tasks=100_000)
QUICK = SeedSpec("quick", users=100, tasks_per_user=1000, heavy_tasks=12_000)
# The scale reference: one user's 1,000 tasks alone in the database.
SMALL = SeedSpec("small", users=1, tasks_per_user=1000, heavy_tasks=0)


@dataclass(frozen=True)
class Plan:
    seed: SeedSpec
    duration: float  # seconds per closed-loop, open-loop and floor measurement
    scale_requests: int  # requests per scale probe
    concurrency: int
    login_concurrency: int
    token_users: int  # distinct users the load is spread over
    # Scratch tasks made before each write measurement (deleted right after).
    scratch_tasks: int
    deep_pages: int = 200
    page_size: int = 50

    def quick(self) -> Plan:
        return replace(
            self,
            seed=QUICK,
            duration=1.0,
            scale_requests=60,
            token_users=100,
            scratch_tasks=6000,
        )


FULL_PLAN = Plan(
    seed=FULL,
    duration=4.0,
    scale_requests=200,
    concurrency=16,
    login_concurrency=4,
    token_users=500,
    scratch_tasks=40_000,
)
