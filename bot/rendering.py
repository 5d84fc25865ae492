"""How choices look on each channel: buttons on Telegram, numbered lists on SMS and WhatsApp."""

from bot.ports import OutboundMessage

NUMBERED_CHANNELS = {"sms", "whatsapp", "simulator"}


def body_with_options(message: OutboundMessage) -> str:
    """Return the text a numbered channel sends: the question, then one option per line."""
    if not message.choices or message.channel not in NUMBERED_CHANNELS:
        return message.text
    lines = [
        _option(n, choice_id, label)
        for n, (choice_id, label) in enumerate(message.choices, start=1)
    ]
    return "\n".join([message.text, *(line for line in lines if line)])


def _option(n: int, choice_id: str, label: str) -> str:
    """A numbered option; a scale's options ("1", "2 Mal") already carry their number."""
    if choice_id == str(n):
        return "" if label.strip() == choice_id else label
    return f"{n}. {label}"


def gsm7_segments(text: str) -> tuple[str, int]:
    """Return the SMS encoding ("GSM-7" or "UCS-2") and the number of segments of a text."""
    if all(ch in _GSM7 for ch in text):
        length = sum(2 if ch in _GSM7_EXT else 1 for ch in text)
        return "GSM-7", 1 if length <= 160 else -(-length // 153)
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    return "UCS-2", 1 if units <= 70 else -(-units // 67)


_GSM7_EXT = set("^{}\\[~]|€")
_GSM7 = (
    set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    | _GSM7_EXT
)
