"""Import returnees from CSV or Excel: validate every row first, then import all or nothing."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot import programme
from bot.db.session import UnitOfWork
from bot.programme import InvalidField, NewReturnee

COLUMNS = (
    "name",
    "phone",
    "country",
    "language",
    "channel",
    "timezone",
    "caseworker",
    "consent",
    "telegram_chat_id",
)
REQUIRED = ("name", "country", "language", "channel")
MAX_ROWS = 20_000
TRUE = {"1", "true", "yes", "oui", "y", "x"}


class ImportFileError(ValueError):
    """The file itself cannot be read (format, encoding, header)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One invalid value: its row number (as a spreadsheet shows it), column and problem."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    """Valid rows counted, and one line per problem with its row number."""

    valid: int = 0
    errors: list[str] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)  # the same problems, as data


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read a .csv (UTF-8, comma or semicolon) or .xlsx file into rows keyed by column."""
    return read_upload(path.name, path.read_bytes())


def read_upload(filename: str, data: bytes) -> list[dict[str, str]]:
    """Read a file's bytes as .csv or .xlsx, by its name's extension."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return read_csv(data)
    if suffix == ".xlsx":
        return read_xlsx(data)
    raise ImportFileError(f"{Path(filename).name}: use a .csv or .xlsx file")


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Parse CSV bytes; the first line names the columns."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("the CSV file is not UTF-8 text") from None
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
        raise ImportFileError(f"the CSV file cannot be read: {exc}") from None
    return _keyed(rows)


def read_xlsx(data: bytes) -> list[dict[str, str]]:
    """Parse the first sheet of an Excel workbook."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ImportFileError("the Excel file cannot be read") from exc
    sheet = book.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return _keyed(rows)


def _keyed(rows: list[list[str]]) -> list[dict[str, str]]:
    if not rows:
        raise ImportFileError("the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)}")
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise ImportFileError(f"unknown column(s): {', '.join(unknown)}")
    if len(rows) - 1 > MAX_ROWS:
        raise ImportFileError(f"more than {MAX_ROWS} rows; split the file")
    return [
        {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header) if h}
        for row in rows[1:]
        if any(cell.strip() for cell in row)
    ]


def to_new(row: dict[str, str]) -> NewReturnee:
    """Turn a row into a NewReturnee (values are validated by programme.create_returnee)."""
    for column in REQUIRED:
        if not row.get(column):
            raise InvalidField(column, "is empty")
    return NewReturnee(
        name=row["name"],
        phone=row.get("phone") or None,
        country=row["country"].upper(),
        language=row["language"].lower(),
        channel=row["channel"].lower(),
        timezone=row.get("timezone") or None,
        caseworker_email=row.get("caseworker") or None,
        consent=row.get("consent", "").lower() in TRUE,
        telegram_chat_id=row.get("telegram_chat_id") or None,
    )


async def validate_and_store(
    db: AsyncSession, rows: list[dict[str, str]], *, now: datetime
) -> ImportReport:
    """Create each row inside the caller's transaction, collecting problems by row number."""
    report = ImportReport()
    for number, row in _numbered(rows):
        try:
            async with db.begin_nested():
                await programme.create_returnee(db, to_new(row), now=now)
            report.valid += 1
        except InvalidField as error:
            problem = RowError(number, error.field, error.message)
            report.problems.append(problem)
            report.errors.append(str(problem))
    return report


async def import_rows(
    db: AsyncSession, rows: list[dict[str, str]], *, dry_run: bool, now: datetime
) -> ImportReport:
    """Validate every row in a savepoint of the caller's transaction; keep the rows only when
    all are valid and this is not a dry run."""
    savepoint = await db.begin_nested()
    report = await validate_and_store(db, rows, now=now)
    if dry_run or report.errors:
        await savepoint.rollback()
    else:
        await savepoint.commit()
    return report


def _numbered(rows: list[dict[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    return enumerate(rows, start=2)  # row 1 is the header, as a spreadsheet shows it


async def import_file(uow: UnitOfWork, path: Path, *, dry_run: bool, now: datetime) -> ImportReport:
    """Validate every row; commit only when all are valid and this is not a dry run."""
    rows = read_rows(path)
    async with uow() as db:
        return await import_rows(db, rows, dry_run=dry_run, now=now)
