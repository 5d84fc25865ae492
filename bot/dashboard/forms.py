"""Form helpers: French messages for validation errors, local date-times, checkbox values."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.programme import InvalidField

FIELDS = {
    "name": "nom",
    "phone": "téléphone",
    "country": "pays",
    "language": "langue",
    "channel": "canal",
    "timezone": "fuseau horaire",
    "caseworker": "conseiller",
    "consent": "consentement",
    "telegram_chat_id": "identifiant Telegram",
    "title": "titre",
    "starts_at": "début",
    "ends_at": "fin",
    "location": "lieu",
    "status": "statut",
    "workshop": "atelier",
    "returnee_id": "personne",
    "file": "fichier",
}
_MESSAGES: list[tuple[str, str]] = [  # programme's English message -> French
    (r"must not be empty|is empty", "Obligatoire."),
    (r"'(.*)' is not a phone number", "« \\1 » n'est pas un numéro de téléphone."),
    (r"'(.*)' is not a valid number for (\w+)", "« \\1 » n'est pas un numéro valide pour \\2."),
    (r"is required for the (\w+) channel", "Obligatoire pour le canal \\1."),
    (r"or a phone is required for telegram", "Un identifiant Telegram ou un téléphone est requis."),
    (r"unknown time zone '(.*)'", "Fuseau horaire inconnu : « \\1 »."),
    (r"a returnee with this number already exists", "Une personne a déjà ce numéro."),
    (r"must be one of (.*)", "Choisissez parmi : \\1."),
    (r"no caseworker account '(.*)'", "Aucun compte de conseiller « \\1 »."),
    (r"needs a UTC offset.*", "Indiquez une date et une heure."),
    (r"must be after starts_at", "La fin doit venir après le début."),
    (r"is cancelled", "L'atelier est annulé."),
    (r"the workshop is already cancelled", "L'atelier est déjà annulé."),
    (r"is already enrolled in this workshop", "Déjà inscrit·e à cet atelier."),
]


def french(error: InvalidField) -> str:
    """The French wording of a validation error from bot.programme."""
    for pattern, text in _MESSAGES:
        if re.fullmatch(pattern, error.message):
            return re.sub(pattern, text, error.message)
    return error.message


def errors_of(error: InvalidField) -> dict[str, str]:
    """A form's error map: the field name -> its French message."""
    return {error.field: french(error)}


def local_datetime(value: str, tz: str, field: str) -> datetime:
    """Read an <input type="datetime-local"> value as a time in a zone; aware, in UTC."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidField(field, "needs a UTC offset") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(tz))


def input_value(moment: datetime | None, tz: str) -> str:
    """A time as an <input type="datetime-local"> value in a zone."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M") if moment else ""


_ROW = re.compile(r"row (\d+): (\w+): (.*)")


def import_error(line: str) -> tuple[int, str, str]:
    """Split an importer problem ("row 3: phone: ...") into row, French field and message."""
    found = _ROW.fullmatch(line)
    if found is None:
        return 0, "", line
    row, field, message = found.groups()
    return int(row), FIELDS.get(field, field), french(InvalidField(field, message))
