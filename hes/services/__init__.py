"""Business rules; each public service function is one unit of work and commits once."""
