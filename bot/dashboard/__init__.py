"""The caseworker dashboard: server-rendered pages, French first, English too."""
