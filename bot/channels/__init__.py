"""Channel adapters: the only code that speaks Telegram or Twilio."""
