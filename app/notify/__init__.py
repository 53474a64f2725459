"""Notifications and reminders: events told at once, the outbox of mails sent exactly once, the sweep, the morning brief."""
