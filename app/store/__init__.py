"""The database: schema (`schema`), migrations (`migrations`), and the `Store` that stages,
publishes and reads (`database`). SQLite by default, the same code on PostgreSQL."""
from app.store.database import StagedInitiative, Store, StoreError

__all__ = ["StagedInitiative", "Store", "StoreError"]
