"""Import returnees from CSV or Excel: a preview lists every invalid row before anything is
saved; the same file, sent back from the preview, is then imported all or nothing."""

import base64
import binascii
import zlib
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from bot import audit
from bot.clock import utcnow
from bot.dashboard.access import check_form
from bot.dashboard.auth import current_user
from bot.dashboard.forms import FIELDS, file_message, import_error
from bot.dashboard.templating import flash, page
from bot.dashboard.translation import gettext as _
from bot.dashboard.translation import ngettext
from bot.db.models import User
from bot.db.session import UnitOfWork
from bot.importer import ImportFileError, read_csv, read_xlsx, validate_and_store

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]
SAMPLE_ROWS = 20  # rows shown in the preview table (every error is listed)


class _Rollback(Exception):
    """Undo the preview's trial import."""


@dataclass
class Preview:
    """What importing the file would do."""

    filename: str
    rows: list[dict[str, str]]
    valid: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, message


def parse(filename: str, data: bytes) -> list[dict[str, str]]:
    """Read the upload by its extension."""
    name = filename.lower()
    if name.endswith(".csv"):
        return read_csv(data)
    if name.endswith(".xlsx"):
        return read_xlsx(data)
    raise ImportFileError("use a .csv or .xlsx file")  # as bot.importer says it


def own_caseload(user: User, rows: list[dict[str, str]]) -> list[tuple[int, str, str]]:
    """A caseworker imports into their own caseload: fill the column, refuse other names."""
    if user.role != "caseworker":
        return []
    errors = []
    for number, row in enumerate(rows, start=2):
        named = row.get("caseworker", "").strip().lower()
        if named and named != user.email:
            mine_only = _("Vous ne pouvez importer que dans votre dossier.")
            errors.append((number, _(FIELDS["caseworker"]), mine_only))
        row["caseworker"] = user.email
    return errors


async def trial(uow: UnitOfWork, user: User, preview: Preview, *, commit: bool) -> None:
    """Validate every row in one transaction; keep it only when asked and every row is valid."""
    own = own_caseload(user, preview.rows)
    try:
        async with uow() as db:
            report = await validate_and_store(db, preview.rows, now=utcnow())
            preview.errors = sorted(own + [import_error(e) for e in report.errors])
            preview.valid = len(preview.rows) - len({row for row, _, _ in preview.errors})
            if not commit or preview.errors:
                raise _Rollback
            detail = f"{preview.valid} returnees from {preview.filename[:120]}"
            await audit.record(db, actor=user.email, action="import", detail=detail, now=utcnow())
    except _Rollback:
        pass


def pack(data: bytes) -> str:
    """The file, compressed, for the preview's hidden field."""
    return base64.b64encode(zlib.compress(data, 9)).decode()


def unpack(text: str) -> bytes:
    """The file back from the hidden field."""
    try:
        return zlib.decompress(base64.b64decode(text, validate=True))
    except (binascii.Error, zlib.error, ValueError):
        raise HTTPException(400, _("Fichier illisible ; recommencez l'import.")) from None


@router.get("/returnees/import")
async def import_form(request: Request, user: CurrentUser) -> Response:
    """Choose a file."""
    return page(request, "import.html", preview=None, error=None, packed="")


@router.post("/returnees/import")
async def preview_import(
    request: Request, user: CurrentUser, file: UploadFile, csrf: FormStr = ""
) -> Response:
    """Check every row and show the problems by row number; nothing is saved."""
    check_form(request, user, csrf)
    data = await file.read()
    return await _preview(request, user, file.filename or "import.csv", data, commit=False)


@router.post("/returnees/import/confirm")
async def confirm_import(
    request: Request,
    user: CurrentUser,
    csrf: FormStr = "",
    filename: FormStr = "",
    data: FormStr = "",
) -> Response:
    """Import the previewed file, all rows or none."""
    check_form(request, user, csrf)
    return await _preview(request, user, filename, unpack(data), commit=True)


async def _preview(
    request: Request, user: User, filename: str, data: bytes, *, commit: bool
) -> Response:
    try:
        preview = Preview(filename, parse(filename, data))
    except ImportFileError as error:
        return page(
            request,
            "import.html",
            status_code=422,
            preview=None,
            error=file_message(error),
            packed="",
        )
    await trial(request.app.state.services.unit_of_work, user, preview, commit=commit)
    if commit and not preview.errors:
        done = ngettext("{n} personne importée.", "{n} personnes importées.", preview.valid)
        flash(request, done.format(n=preview.valid))
        return RedirectResponse("/returnees", status_code=303)
    return page(
        request,
        "import.html",
        status_code=422 if preview.errors else 200,
        preview=preview,
        sample=preview.rows[:SAMPLE_ROWS],
        error=None,
        packed=pack(data),
    )
