"""Imports every module that defines tables, so `init_db` creates them all."""

import bot.cases
import bot.channels.store
import bot.desk.models
import bot.privacy
import bot.staff.review  # noqa: F401
