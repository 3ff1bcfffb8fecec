"""CSV import: upload, column mapping, and the chunked run the Celery task performs.

Decisions (also in the README):
- Every row goes through `lead_create` in its own savepoint: a bad row is reported with the
  line of the file it starts on, as an editor numbers lines (the header is line 1 when the
  file starts with it), and never sinks the good ones. Blank rows are skipped silently.
- The separator (comma, semicolon, tab or pipe) is the one that splits the header line; any
  line ending is read (CRLF, LF, old Mac CR); a UTF-8 byte order mark is dropped.
- HubSpot lifecycle stages `subscriber`, `lead`, `marketingqualifiedlead` and
  `salesqualifiedlead` all create an *engaged* lead: qualification is the hand-off, which needs
  the criteria of our own definition, so another tool's verdict is not taken on trust. Any
  other stage is an error for that row.
- "Original Source" is matched to an existing campaign by name (case-insensitive); an unknown
  source leaves the campaign blank. Campaigns are never created by an import.
- "Create Date" is checked (an impossible date refuses the row) but the lead is created now:
  SLA clocks start when the lead reaches Handoff, not when another tool first saw it.
- A name containing markup (`<` or `>`) is refused: bulk files are where injected markup
  arrives, and no real person's name contains angle brackets.
- Imported leads get `source="csv_import"`.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.csv_files import csv_text
from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads import permissions
from leads.models import Campaign, ImportJob
from leads.services.leads import LeadInput, lead_create

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
CHUNK_SIZE = 25
# On SQLite one writer holds the whole file: between two chunks the import pauses this long,
# so the web's writes (waiting in the busy timeout) take the lock in between.
SQLITE_PAUSE_SECONDS = 0.05
RESUME_BATCH = 100  # stalled imports sent again per scheduler tick
IMPORT_SOURCE = "csv_import"
IMPORT_TASK = "leads.tasks.import_csv"  # the task that runs `import_run` (leads/tasks.py)

ACCEPTED_LIFECYCLE_STAGES = frozenset(
    {"", "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "engaged"}
)
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class ImportField:
    name: str
    label: str
    guesses: tuple[str, ...]
    required: bool = False


# What a column can be mapped to, with the header names we recognise for each (compared
# by letters and digits only, so "E-mail Address", "email_address" and "Email address" match).
IMPORT_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "email",
        "Email",
        ("email", "e-mail", "email address", "e-mail address", "mail address"),
        required=True,
    ),
    ImportField("first_name", "First name", ("first name", "firstname", "given name")),
    ImportField("last_name", "Last name", ("last name", "lastname", "surname", "family name")),
    ImportField(
        "full_name",
        "Full name (split into first and last name)",
        ("full name", "name", "contact name"),
    ),
    ImportField(
        "company",
        "Company",
        ("company name", "company", "organisation", "organization", "organisation name"),
    ),
    ImportField("phone", "Phone", ("phone number", "phone", "mobile")),
    ImportField("job_title", "Job title", ("job title", "title", "role")),
    ImportField("lifecycle_stage", "Lifecycle stage", ("lifecycle stage", "stage")),
    ImportField("campaign", "Campaign (by name)", ("original source", "campaign", "source")),
    ImportField("created_date", "Create date", ("create date", "created", "created at")),
)
FIELD_NAMES = tuple(f.name for f in IMPORT_FIELDS)

# The separators spreadsheet programs write: a comma, or a semicolon where the comma is the
# decimal mark (much of Europe), a tab, or a pipe.
DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileRow:
    """A record of the file: the line it starts on (as an editor numbers it) and its cells."""

    line: int
    cells: list[str]


def _delimiter(content: str) -> str:
    """The separator that splits the header line most often (quoted text aside)."""
    header_line = re.split(r"\r\n|\r|\n", content.lstrip("\r\n"), maxsplit=1)[0]
    unquoted = _QUOTED.sub("", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parse(content: str) -> tuple[list[str], list[FileRow]]:
    """The header and the records, in any line ending (CRLF, LF, old Mac CR) and separator.

    Rows with nothing in them (blank lines, a row of separators only) are skipped, not reported.
    """
    # newline="" hands the reader every line ending untouched, as the csv module expects.
    # strict: a broken quote is named by its line rather than swallowing the rows after it.
    reader = csv.reader(
        io.StringIO(content, newline=""), delimiter=_delimiter(content), strict=True
    )
    headers: list[str] | None = None
    rows: list[FileRow] = []
    next_line = 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if headers is None:
                headers = [h.strip() for h in cells]
            else:
                rows.append(FileRow(line, cells))
    except csv.Error as exc:
        raise DomainError(
            f"The file is not valid CSV at line {reader.line_num}: {exc} (a quoted value must "
            "end with a quote followed by the separator).",
            field="file",
        ) from exc
    if headers is None:
        raise DomainError("The file is empty.", field="file")
    return headers, rows


def _header_key(name: str) -> str:
    return re.sub(r"[\W_]", "", name.casefold())


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Pre-fill the mapping form from header names; the user confirms or changes it."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(_header_key(header), header)
    mapping: dict[str, str] = {}
    for field in IMPORT_FIELDS:
        for guess in field.guesses:
            if _header_key(guess) in by_key:
                mapping[field.name] = by_key[_header_key(guess)]
                break
    return mapping


@transaction.atomic
def import_upload(
    *, actor: User, filename: str, raw: bytes, now: datetime | None = None
) -> ImportJob:
    """Store an uploaded CSV and read its header; rows are checked when the import runs."""
    now = now or timezone.now()
    permissions.require(
        permissions.can_create_lead(actor), "Only marketing and managers import leads."
    )
    if not raw:
        raise DomainError("The file is empty.", field="file")
    if len(raw) > MAX_IMPORT_BYTES:
        raise DomainError("The file is larger than 5 MB; split it.", field="file")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError("The file must be UTF-8 encoded CSV.", field="file") from exc
    if "\x00" in content:
        raise DomainError("The file is not a text CSV.", field="file")
    headers, rows = _parse(content)
    if not any(headers):
        raise DomainError("The first row must name the columns.", field="file")
    if not rows:
        raise DomainError("The file has a header but no rows.", field="file")
    if len(rows) > MAX_IMPORT_ROWS:
        raise DomainError(f"At most {MAX_IMPORT_ROWS} rows per file.", field="file")
    return ImportJob.objects.create(
        created_by=actor,
        created_at=now,
        filename=filename[:255],
        content=content,
        headers=headers,
        mapping=guess_mapping(headers),
        total_rows=len(rows),
    )


@transaction.atomic
def import_start(*, job: ImportJob, actor: User, mapping: dict[str, str]) -> ImportJob:
    """Confirm the mapping and queue the import (the task is sent after commit)."""
    job = _mapping_confirm(job=job, actor=actor, mapping=mapping)
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def import_file(*, actor: User, filename: str, raw: bytes, dry_run: bool = False) -> ImportJob:
    """Import a whole file in this process with the mapping guessed from its header (the
    operators' command). A dry run checks every row exactly as an import would, duplicates
    within the file included, and then keeps nothing."""
    with transaction.atomic():
        job = import_upload(actor=actor, filename=filename, raw=raw)
        job = _mapping_confirm(job=job, actor=actor, mapping=job.mapping)
        if dry_run:
            job = import_run(job_id=job.pk)
            transaction.set_rollback(True)
            return job
    return import_run(job_id=job.pk)


def _mapping_confirm(*, job: ImportJob, actor: User, mapping: dict[str, str]) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    permissions.require(
        job.created_by_id == actor.id or actor.is_manager,
        "Only the person who uploaded this file may start its import.",
    )
    if job.status != ImportJob.Status.MAPPING:
        raise DomainError("This import has already started.", code=ErrorCode.ILLEGAL_TRANSITION)
    unknown_fields = sorted(set(mapping) - set(FIELD_NAMES))
    if unknown_fields:
        raise DomainError(f"Unknown field {unknown_fields[0]!r}.", field=unknown_fields[0])
    cleaned = {name: column for name, column in mapping.items() if column}
    for name, column in cleaned.items():
        if column not in job.headers:
            raise DomainError(f"The file has no column {column!r}.", field=name)
    if "email" not in cleaned:
        raise DomainError("Choose the column that holds the email address.", field="email")
    job.mapping = cleaned
    job.status = ImportJob.Status.QUEUED
    job.progressed_at = timezone.now()
    job.save(update_fields=["mapping", "status", "progressed_at"])
    return job


def _enqueue(job_id: int) -> None:
    try:
        # By name, so the domain never imports the task module. `current_app` is the project's
        # app in every thread: Celery's Django fixup makes it the default.
        current_app.send_task(IMPORT_TASK, args=[job_id])
    except Exception:
        # A broker outage must not turn the page into a 500: the job stays queued and the
        # progress page offers to send it again.
        logger.exception("Could not queue import %s", job_id)


# ---------------------------------------------------------------- the run


class RowError(Exception):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _split_full_name(values: dict[str, str]) -> dict[str, str]:
    """A "Full name" column fills first and last name when the file has neither: the last
    word is the last name, the words before it the first name."""
    words = values.get("full_name", "").split()
    if not words or values.get("first_name") or values.get("last_name"):
        return values
    first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (words[0], "")
    return {**values, "first_name": first, "last_name": last}


def _check_row(values: dict[str, str], campaigns: dict[str, int]) -> LeadInput:
    values = _split_full_name(values)
    for name in ("first_name", "last_name"):
        if re.search(r"[<>]", values.get(name, "")):
            raise RowError(f"{name} contains markup characters (< or >).", name)
    stage = values.get("lifecycle_stage", "").strip().lower()
    if stage not in ACCEPTED_LIFECYCLE_STAGES:
        raise RowError(
            f"Unknown lifecycle stage {values['lifecycle_stage']!r}; expected one of "
            "subscriber, lead, marketingqualifiedlead, salesqualifiedlead.",
            "lifecycle_stage",
        )
    raw_date = values.get("created_date", "").strip()
    if raw_date and not any(_parses(raw_date, fmt) for fmt in DATE_FORMATS):
        raise RowError(f"Create date {raw_date!r} is not a real date (YYYY-MM-DD).", "created_date")
    campaign_name = values.get("campaign", "").strip().lower()
    return LeadInput(
        email=values.get("email", ""),
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        company=values.get("company", ""),
        phone=values.get("phone", ""),
        job_title=values.get("job_title", ""),
        campaign=campaigns.get(campaign_name),
        source=IMPORT_SOURCE,
    )


def _parses(raw: str, fmt: str) -> bool:
    try:
        datetime.strptime(raw, fmt)  # noqa: DTZ007 - only checking that the date exists
    except ValueError:
        return False
    return True


def import_run(*, job_id: int, chunk_size: int = CHUNK_SIZE) -> ImportJob:
    """Import the rows not yet processed, one chunk per transaction.

    Each chunk locks the job row, starts from its committed `processed_rows`, creates every
    row in its own savepoint and advances the counters in the same transaction: two workers
    on one job, or a retry after a crash, never import a row twice.
    """
    job = ImportJob.objects.get(pk=job_id)
    if job.is_finished:
        return job
    actor = job.created_by
    if actor is None or not permissions.can_create_lead(actor):
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            failure="The uploader may no longer create leads.",
            finished_at=timezone.now(),
        )
        return ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    headers, rows = _parse(job.content)
    index = {name: headers.index(column) for name, column in job.mapping.items()}
    campaigns = {name.lower(): pk for pk, name in Campaign.objects.values_list("pk", "name")}
    while True:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            start = job.processed_rows
            chunk = rows[start : start + chunk_size]
            if not chunk:
                job.status = ImportJob.Status.DONE
                job.finished_at = timezone.now()
                job.save(update_fields=["status", "finished_at"])
                return job
            for row in chunk:
                cells = row.cells
                values = {
                    name: (cells[i].strip() if i < len(cells) else "") for name, i in index.items()
                }
                error = _import_row(actor, values, campaigns)
                if error is None:
                    job.imported_count += 1
                else:
                    job.error_count += 1
                    job.errors.append(
                        {
                            "row": row.line,
                            "field": error.field,
                            "message": error.message,
                            "values": dict(zip(headers, cells, strict=False)),
                        }
                    )
            job.processed_rows = start + len(chunk)
            job.progressed_at = timezone.now()
            job.save(
                update_fields=[
                    "processed_rows",
                    "imported_count",
                    "error_count",
                    "errors",
                    "progressed_at",
                ]
            )
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            time.sleep(SQLITE_PAUSE_SECONDS)


def _import_row(actor: User, values: dict[str, str], campaigns: dict[str, int]) -> RowError | None:
    try:
        data = _check_row(values, campaigns)
        with transaction.atomic():
            lead_create(actor=actor, data=data)
    except RowError as exc:
        return exc
    except DomainError as exc:
        return RowError(exc.message, exc.field or "")
    except (IntegrityError, DataError) as exc:
        # Data the database refused that our checks let through: that row only.
        logger.warning("Import row refused by the database: %s", exc)
        return RowError("The database refused this row's values.")
    return None


def import_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed when the run itself breaks (its committed chunks stay imported)."""
    ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.FAILED, failure=message[:500], finished_at=timezone.now())


# ---------------------------------------------------------------- the error report


def import_error_report(job: ImportJob) -> str:
    """The rows that failed: the line each starts on, the reason, then its original columns."""
    return csv_text(
        [
            ["line", "field", "error", *job.headers],
            *(
                [
                    error["row"],
                    error.get("field", ""),
                    error["message"],
                    *(error.get("values", {}).get(h, "") for h in job.headers),
                ]
                for error in job.errors
            ),
        ]
    )


def import_requeue(*, job: ImportJob) -> None:
    """Send the task again for a job still queued or running; a second run is harmless."""
    _enqueue(job.pk)


def unfinished_imports() -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])


def stalled_q(now: datetime) -> Q:
    """Quiet for IMPORT_STALLED_SECONDS (or never moved): among unfinished imports, those
    whose worker died or whose task never reached one."""
    cutoff = now - timedelta(seconds=settings.IMPORT_STALLED_SECONDS)
    return Q(progressed_at__lt=cutoff) | Q(progressed_at__isnull=True)


def imports_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Send again every import that stayed queued (the broker was down when it was started)
    or stopped moving mid-way (its worker died), after settings.IMPORT_STALLED_SECONDS
    without progress; the run resumes from the last saved row (import_run).

    Each job is claimed by a conditional update of `progressed_at`, so two schedulers at once
    send it once, and it is sent again only after another quiet spell.
    """
    now = now or timezone.now()
    unfinished = unfinished_imports()
    stalled = unfinished.filter(stalled_q(now))
    resumed = []
    for job_id, seen in stalled.order_by("pk").values_list("pk", "progressed_at")[:RESUME_BATCH]:
        if unfinished.filter(pk=job_id, progressed_at=seen).update(progressed_at=now):
            resumed.append(job_id)
            _enqueue(job_id)
    return resumed
