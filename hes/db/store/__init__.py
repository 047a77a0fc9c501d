"""Store modules: SQL for one resource each; they take a session and never commit."""
