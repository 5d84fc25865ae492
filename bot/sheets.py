"""Tables to files: CSV (UTF-8 with a BOM, for Excel) and .xlsx; cells never become formulas."""

import csv
import io
import re
from collections.abc import Sequence

Cell = str | int | float | None
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"\+\d{6,15}")


def neutral(value: Cell) -> Cell:
    """Keep a spreadsheet from running text as a formula (CSV injection): prefix a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PHONE.fullmatch(value):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """Comma-separated, one header line, UTF-8 with a byte order mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else neutral(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Cell]], *, title: str) -> bytes:
    """One sheet; text cells are stored as text, so "=..." is never a formula."""
    from openpyxl import Workbook

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
