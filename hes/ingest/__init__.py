"""The one path every reading and meter event takes into HES Core (see DESIGN.md, "How a reading travels")."""
