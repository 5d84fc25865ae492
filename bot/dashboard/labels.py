"""Labels for the codes stored in the database (kinds, statuses, purposes, channels).

The French label is the msgid; label() shows it in the request's language.
"""

import re
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
    "api": N_("par l'API"),
}
ROLES = {
    "admin": N_("administrateur"),
    "caseworker": N_("conseiller"),
    "viewer": N_("lecture seule"),
}
REASONS = {  # why a send moved or did not go, why an alert was raised (stored in English)
    "quiet_hours": N_("heures calmes"),
    "after_deadline": N_("prévu trop tard (après l'échéance)"),
    "no_allowed_time": N_("aucun moment permis avant l'échéance"),
    "declined": N_("la personne a refusé"),
    "consent_withdrawn": N_("consentement retiré"),
    "opted_out": N_("la personne a écrit STOP"),
    "blocked_or_stop": N_("bloqué par la personne ou STOP"),
    "workshop_cancellation": N_("atelier annulé"),
    "workshop_reschedule": N_("atelier déplacé"),
    "held: waiting for a reply to another question, or with a caseworker": N_(
        "en attente : la personne répond à une autre question, ou un conseiller la suit"
    ),
    "distress words in a reply": N_("mots de détresse dans une réponse"),
    "asked for help": N_("a demandé de l'aide"),
    "needs help to come to the workshop": N_("a besoin d'aide pour venir à l'atelier"),
    "low wellbeing score; asked to be called": N_("bien-être bas ; veut être appelé·e"),
    "low wellbeing score; no call wanted": N_("bien-être bas ; ne veut pas d'appel"),
    "no answer after the workshop moved": N_("pas de réponse après le report de l'atelier"),
    "no answer to the reminder": N_("pas de réponse au rappel"),
    "no answer to the invitation": N_("pas de réponse à l'invitation"),
    "did not come to the workshop": N_("n'est pas venu·e à l'atelier"),
    "no answer after the workshop": N_("pas de réponse après l'atelier"),
    "no answer to the wellbeing check-in": N_("pas de réponse au suivi du bien-être"),
    "no answer at first contact": N_("pas de réponse au premier contact"),
}
_EXPIRED = re.compile(r"expired: .*")
_UNTIL_START = re.compile(r"(?P<why>[a-z_:]+)_until_after_.*")
_BLACKOUT = re.compile(r"blackout:(?P<name>[\w-]+)")
_UNDELIVERED = re.compile(r"message (?:could not be delivered|\d+ \w+) \((?P<code>[^)]*)\)")


def reason(text: str | None) -> str:
    """A stored reason in the request's language; one we do not know is shown as it is."""
    if not text:
        return ""
    if text in REASONS:
        return gettext(REASONS[text])
    if _EXPIRED.fullmatch(text):
        return gettext(N_("expiré : l'échéance est passée avant l'envoi"))
    if match := _UNTIL_START.fullmatch(text):
        why = reason(match["why"])
        return gettext(N_("sauté : %(why)s jusqu'après le début")) % {"why": why}
    if match := _BLACKOUT.fullmatch(text):
        return gettext(N_("période sans envoi (%(name)s)")) % {"name": match["name"]}
    if match := _UNDELIVERED.fullmatch(text):
        return gettext(N_("message non distribué (code %(code)s)")) % {"code": match["code"]}
    return text


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
