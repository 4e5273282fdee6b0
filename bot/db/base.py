"""The declarative base every table module shares; it imports nothing from the project."""

from __future__ import annotations

from sqlalchemy.orm import declarative_base

Base = declarative_base()
