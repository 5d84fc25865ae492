"""Form helpers: validation errors in the caseworker's language, local date-times, checkboxes."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dashboard.translation import N_, gettext
from bot.programme import InvalidField

FIELDS = {
    "name": N_("nom"),
    "phone": N_("téléphone"),
    "country": N_("pays"),
    "language": N_("langue"),
    "channel": N_("canal"),
    "timezone": N_("fuseau horaire"),
    "caseworker": N_("conseiller"),
    "consent": N_("consentement"),
    "telegram_chat_id": N_("identifiant Telegram"),
    "title": N_("titre"),
    "starts_at": N_("début"),
    "ends_at": N_("fin"),
    "location": N_("lieu"),
    "status": N_("statut"),
    "workshop": N_("atelier"),
    "returnee_id": N_("personne"),
    "file": N_("fichier"),
}
# bot.programme and bot.importer speak English (for the CLI and the API); the dashboard shows
# these texts instead, with the named groups as placeholders.
_MESSAGES: list[tuple[str, str]] = [
    (r"must not be empty|is empty", N_("Obligatoire.")),
    (r"'(?P<value>.*)' is not a phone number", N_("« {value} » n'est pas un numéro de téléphone.")),
    (
        r"'(?P<value>.*)' is not a valid number for (?P<country>\w+)",
        N_("« {value} » n'est pas un numéro valide pour {country}."),
    ),
    (r"is required for the (?P<channel>\w+) channel", N_("Obligatoire pour le canal {channel}.")),
    (
        r"or a phone is required for telegram",
        N_("Un identifiant Telegram ou un téléphone est requis."),
    ),
    (r"unknown time zone '(?P<value>.*)'", N_("Fuseau horaire inconnu : « {value} ».")),
    (r"a returnee with this number already exists", N_("Une personne a déjà ce numéro.")),
    (r"must be one of (?P<choices>.*)", N_("Choisissez parmi : {choices}.")),
    (r"no caseworker account '(?P<value>.*)'", N_("Aucun compte de conseiller « {value} ».")),
    (r"needs a UTC offset.*", N_("Indiquez une date et une heure.")),
    (r"must be between the years 2000 and 2100", N_("L'année doit être entre 2000 et 2100.")),
    (r"must be after starts_at", N_("La fin doit venir après le début.")),
    (r"is cancelled", N_("L'atelier est annulé.")),
    (r"the workshop is already cancelled", N_("L'atelier est déjà annulé.")),
    (r"is already enrolled in this workshop", N_("Déjà inscrit·e à cet atelier.")),
]
_FILE_ERRORS: list[tuple[str, str]] = [
    (r"(?:.*: )?use a \.csv or \.xlsx file", N_("choisissez un fichier .csv ou .xlsx")),
    (r"the CSV file is not UTF-8 text", N_("le fichier CSV n'est pas du texte UTF-8")),
    (r"the CSV file cannot be read: (?P<reason>.*)", N_("le fichier CSV est illisible : {reason}")),
    (r"the Excel file cannot be read", N_("le fichier Excel est illisible")),
    (r"the file is empty", N_("le fichier est vide")),
    (r"missing column\(s\): (?P<columns>.*)", N_("colonne(s) manquante(s) : {columns}")),
    (r"unknown column\(s\): (?P<columns>.*)", N_("colonne(s) inconnue(s) : {columns}")),
    (
        r"more than (?P<limit>\d+) rows; split the file",
        N_("plus de {limit} lignes : découpez le fichier"),
    ),
]


def _shown(text: str, table: list[tuple[str, str]]) -> str:
    """The dashboard's wording of an English message, in the request's language."""
    for pattern, shown in table:
        if found := re.fullmatch(pattern, text):
            return gettext(shown).format(**found.groupdict())
    return text


def field_message(error: InvalidField) -> str:
    """The wording of a validation error from bot.programme."""
    return _shown(error.message, _MESSAGES)


def file_message(error: Exception) -> str:
    """The wording of an unreadable file's problem from bot.importer."""
    return _shown(str(error), _FILE_ERRORS)


def errors_of(error: InvalidField) -> dict[str, str]:
    """A form's error map: the field name -> its message."""
    return {error.field: field_message(error)}


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
    """Split an importer problem ("row 3: phone: ...") into row, field name and message."""
    found = _ROW.fullmatch(line)
    if found is None:
        return 0, "", line
    row, field, message = found.groups()
    name = gettext(FIELDS[field]) if field in FIELDS else field
    return int(row), name, field_message(InvalidField(field, message))
