"""The database: models, types, sessions and queries; only this package imports SQLAlchemy."""
