"""Periodic jobs: the scheduler, run in the app lifespan, and the jobs it runs once across instances."""

from hes.jobs.schedule import Job, JobContext, JobFunction
from hes.jobs.scheduler import JobStats, Outcome, Scheduler
from hes.jobs.standard import retention_job, standard_jobs

__all__ = [
    "Job",
    "JobContext",
    "JobFunction",
    "JobStats",
    "Outcome",
    "Scheduler",
    "retention_job",
    "standard_jobs",
]
