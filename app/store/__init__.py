"""The database: schema (`schema`), migrations (`migrations`), and the `Store` that stages,
publishes and reads (`database`). SQLite by default, the same code on PostgreSQL."""
from app.store.database import RemovalRefused, StagedInitiative, Store, StoreError, SyncBusy

__all__ = ["RemovalRefused", "StagedInitiative", "Store", "StoreError", "SyncBusy"]
