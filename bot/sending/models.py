"""The sending side's one table: the Zalo OA token pair, shared by every process that sends to Zalo."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Text

from bot.db.base import Base
from bot.timeutil import utcnow


class ZaloToken(Base):
    """The Zalo OA token pair; `version` is the compare-and-swap guard, `lease_*` the refresh lock."""

    __tablename__ = "zalo_oa_tokens"
    app_id = Column(String(64), primary_key=True)
    access_token = Column(Text, nullable=False)
    refresh_token = Column(Text, nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=True)
    version = Column(Integer, nullable=False, default=1)
    lease_owner = Column(String(64), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
