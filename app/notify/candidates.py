"""A message the sweep may send: found from the data, claimed under its key unless it was claimed before."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Candidate:
    key: str
    kind: str
    user_id: int
    client_id: int
    fields: dict
    link: tuple  # (endpoint, values, fragment)
    rows: tuple = field(default=())  # a morning brief's clients
    sections: tuple = field(default=())  # a weekly digest's (heading, lines)
    held: tuple = field(default=())  # (text, link) of the held notices a digest carries
    carries: tuple = field(default=())  # their ids
