"""What the iCalendar files and feeds take and answer, and their limits (defined once here:
the API, the CLI and the web app use these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from todo.accounts.schemas import TokenName
from todo.core.ids import RowId
from todo.core.schemas import RequestModel

# Tasks (VTODOs, or one recurring task's VTODOs under one UID) in one imported file. The
# body limit of every request (Settings.max_body_bytes) bounds its size; the CLI sends a
# larger file in parts of at most this many tasks and IMPORT_PART_BYTES.
IMPORT_ITEMS_MAX = 1000
IMPORT_PART_BYTES = 512 * 1024
# Per-item problems listed in an import's answer; the count says how many there were.
IMPORT_ERRORS_LISTED_MAX = 100
ICS_MEDIA_TYPE = "text/calendar"
FEEDS_PER_USER_MAX = 20


class ImportProblem(BaseModel):
    """One object of the file that was not imported, and why."""

    index: int = Field(description="Its place among the file's tasks, from 1")
    uid: str | None = Field(description="Its UID, when it has one")
    code: str = Field(description="Stable: bad_calendar_object, uid_exists, not_a_task, ...")
    reason: str = Field(description="A human sentence")


class ImportReport(BaseModel):
    """Each task of the file is imported on its own (a bad one does not stop the others);
    one already in the account (the same UID) is skipped, so importing a file again adds
    nothing twice."""

    dry_run: bool
    created: int = Field(description="Tasks made (or that would be, in a dry run)")
    skipped: int = Field(description="Tasks the account has already (the same UID), left be")
    failed: int = Field(description="Objects that could not be imported")
    errors: list[ImportProblem] = Field(
        description=f"The problems, the first {IMPORT_ERRORS_LISTED_MAX} of them"
    )


class FeedCreate(RequestModel):
    # Named as tokens and app passwords are: it is one more secret of the account.
    name: Annotated[TokenName, Field(examples=["Phone calendar"])]
    list_id: RowId | None = Field(
        default=None, description="One list's dated tasks; null for every list you see"
    )


class FeedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    list_id: int | None
    created_at: datetime


class FeedCreated(FeedRead):
    url: str = Field(
        description="The secret address to subscribe to, in this answer only: anyone who has it "
        "reads the feed, until it is deleted"
    )
