"""Alerts by email: stories (near-duplicates grouped), alert rows, the outbox, composition and delivery.

Modules: ``stories`` (grouping), ``recorder`` (story and alert rows in the article's transaction),
``outbox`` (messages and their delivery states), ``compose`` (email messages from templates),
``transport`` / ``smtp`` (file outbox and SMTP delivery), ``sender`` (the send loop), ``digest``
(schedules and digest assembly), ``mailconfig`` (senders, recipients, links), ``cli`` (commands).
"""
