"""Texts the host says outside any flow (stop, help, not understood), marked for extraction."""

from bot.i18n import pN_

NOTICE_VERSION = "2026-11"  # the privacy notice the intake flow shows; bump it with the text

STOPPED = pN_("system", "Vous ne recevrez plus de messages. Ecrivez START pour recommencer.")
STARTED = pN_("system", "Bienvenue a nouveau ! Vous recevrez de nouveau nos messages.")
HELP = pN_(
    "system",
    "Votre conseiller a ete prevenu et va vous contacter. Ecrivez STOP pour ne plus recevoir de messages.",
)
NOT_UNDERSTOOD = pN_("system", "Je n'ai pas compris. Repondez avec le chiffre de votre choix :")
HANDED_OVER = pN_("system", "Je n'ai pas compris. Votre conseiller va vous repondre.")
LINKED = pN_(
    "system",
    "Bonjour ! Votre compte est relié au programme. Vous recevrez ici vos rappels. Écrivez AIDE pour parler à votre conseiller.",
)
RECEIVED = pN_("system", "Message recu, merci. Votre conseiller peut le lire.")
LANGUAGE_SET = pN_("system", "C'est note : nous vous ecrirons en francais.")
DISTRESS = pN_(
    "system",
    "Vous n'etes pas seul(e). Votre conseiller a ete alerte et va vous appeler. En cas d'urgence : {emergency}.",
)
