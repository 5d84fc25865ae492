"""Labels for the codes stored in the database (kinds, statuses, purposes, channels).

The French label is the msgid; label() shows it in the request's language.
"""

from collections.abc import Mapping

from bot.dashboard.translation import N_, gettext

ALERT_KINDS = {
    "distress": N_("Détresse"),
    "help": N_("Demande d'aide"),
    "low_wellbeing": N_("Bien-être bas"),
    "no_show": N_("Absent à l'atelier"),
    "undeliverable": N_("Numéro injoignable"),
    "no_response": N_("Sans réponse"),
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
    "invited": N_("Invité·e"),
    "confirmed": N_("Confirmé·e"),
    "declined": N_("Refusé"),
    "unsure": N_("Incertain·e"),
    "attended": N_("Présent·e"),
    "absent": N_("Absent·e"),
    "cancelled": N_("Annulé"),
}
MESSAGE_STATUS = {
    "received": N_("reçu"),
    "queued": N_("en file"),
    "sending": N_("envoi…"),
    "sent": N_("envoyé"),
    "delivered": N_("distribué"),
    "read": N_("lu"),
    "failed": N_("échec"),
    "undelivered": N_("non distribué"),
}
PURPOSES = {
    "reply": N_("réponse automatique"),
    "manual": N_("réponse d'un conseiller"),
    "invitation": N_("invitation"),
    "reminder": N_("rappel"),
    "first_reminder": N_("premier rappel"),
    "last_reminder": N_("dernier rappel"),
    "attendance_check": N_("suivi de présence"),
    "wellbeing_checkin": N_("bien-être"),
    "cancellation": N_("annulation"),
    "reschedule": N_("report"),
}
SEND_STATUS = {
    "planned": N_("prévu"),
    "sent": N_("envoyé"),
    "skipped": N_("sauté"),
    "expired": N_("expiré"),
    "cancelled": N_("annulé"),
}
CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"}
COUNTRIES = {"MA": N_("Maroc"), "TN": N_("Tunisie"), "SN": N_("Sénégal")}
LANGUAGES = {"fr": N_("français"), "ar": N_("arabe"), "wo": N_("wolof")}
CONSENT = {"unknown": N_("inconnu"), "given": N_("donné"), "withdrawn": N_("retiré")}
CONSENT_METHOD = {
    "registration": N_("à l'inscription"),
    "chat": N_("par message"),
    "dashboard": N_("saisi ici"),
}
ROLES = {
    "admin": N_("administrateur"),
    "caseworker": N_("conseiller"),
    "viewer": N_("lecture seule"),
}
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
    """The label of a code in the request's language, or the code itself when it has none."""
    if code is None:
        return "—"
    text = ALL[table].get(code)
    return code if text is None else gettext(text)
