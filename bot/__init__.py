"""returnee-bot host: web app, channel adapters, database, outbox and i18n."""
