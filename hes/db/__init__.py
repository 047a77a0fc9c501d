"""Storage: tables, engine, migrations; SQL lives in `hes.db.store`."""
