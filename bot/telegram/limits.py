"""The daily video limit (DAILY_VIDEO_LIMIT): admins are never limited."""

from __future__ import annotations

import time

from bot.telegram.context import BotContext


async def over_daily_limit(context: BotContext, user_id: int) -> bool:
    """Whether the user already asked for today's videos (UTC days)."""
    limit = context.services.settings.daily_video_limit
    if limit is None or context.services.access.is_admin(user_id):
        return False
    midnight = time.time() // 86400 * 86400
    return await context.services.jobs.count_videos_since(user_id, midnight) >= limit
