"""French labels for the codes stored in the database (kinds, statuses, purposes, channels)."""

from collections.abc import Mapping

ALERT_KINDS = {
    "distress": "Détresse",
    "help": "Demande d'aide",
    "low_wellbeing": "Bien-être bas",
    "no_show": "Absent à l'atelier",
    "undeliverable": "Numéro injoignable",
    "no_response": "Sans réponse",
}
ALERT_RANK = {  # the inbox order: the most urgent first
    "distress": 1,
    "help": 2,
    "low_wellbeing": 3,
    "no_show": 4,
    "undeliverable": 4,
    "no_response": 5,
}
ENROLLMENT = {
    "invited": "Invité·e",
    "confirmed": "Confirmé·e",
    "declined": "Refusé",
    "unsure": "Incertain·e",
    "attended": "Présent·e",
    "absent": "Absent·e",
    "cancelled": "Annulé",
}
MESSAGE_STATUS = {
    "received": "reçu",
    "queued": "en file",
    "sending": "envoi…",
    "sent": "envoyé",
    "delivered": "distribué",
    "read": "lu",
    "failed": "échec",
    "undelivered": "non distribué",
}
PURPOSES = {
    "reply": "réponse automatique",
    "manual": "réponse d'un conseiller",
    "invitation": "invitation",
    "reminder": "rappel",
    "first_reminder": "premier rappel",
    "last_reminder": "dernier rappel",
    "attendance_check": "suivi de présence",
    "wellbeing_checkin": "bien-être",
    "cancellation": "annulation",
    "reschedule": "report",
}
SEND_STATUS = {
    "planned": "prévu",
    "sent": "envoyé",
    "skipped": "sauté",
    "expired": "expiré",
    "cancelled": "annulé",
}
CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"}
COUNTRIES = {"MA": "Maroc", "TN": "Tunisie", "SN": "Sénégal"}
LANGUAGES = {"fr": "français", "ar": "arabe", "wo": "wolof"}
CONSENT = {"unknown": "inconnu", "given": "donné", "withdrawn": "retiré"}
CONSENT_METHOD = {
    "registration": "à l'inscription",
    "chat": "par message",
    "dashboard": "saisi ici",
}
ROLES = {"admin": "administrateur", "caseworker": "conseiller", "viewer": "lecture seule"}
ALL: Mapping[str, Mapping[str, str]] = {
    "alert": ALERT_KINDS,
    "enrollment": ENROLLMENT,
    "message": MESSAGE_STATUS,
    "purpose": PURPOSES,
    "send": SEND_STATUS,
    "channel": CHANNELS,
    "country": COUNTRIES,
    "language": LANGUAGES,
    "consent": CONSENT,
    "method": CONSENT_METHOD,
    "role": ROLES,
}


def label(code: str | None, table: str) -> str:
    """The French label of a code, or the code itself when it has none."""
    if code is None:
        return "—"
    return ALL[table].get(code, code)
