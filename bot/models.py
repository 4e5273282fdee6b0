"""Imports every module that defines tables, so `init_db` creates them all."""

import bot.cases  # noqa: F401
import bot.privacy  # noqa: F401
import bot.staff.review  # noqa: F401
import bot.channels.store  # noqa: F401
import bot.desk.models  # noqa: F401
