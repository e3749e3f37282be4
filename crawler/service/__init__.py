"""The long-running service (`newswatch run`): schedules crawls, delivery, digests, health and housekeeping."""
