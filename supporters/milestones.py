"""The supporter milestone ladder: pure arithmetic on a count, read by pages (campaign, actions,
share images, the dashboard) and by the milestone services alike, so it lives outside services."""

from __future__ import annotations

# The "Let's get to M!" ladder: (up to, step).
SUPPORTER_LADDER = ((500, 100), (1_000, 200), (10_000, 1_000), (50_000, 5_000), (100_000, 25_000))


def next_supporter_milestone(count: int) -> int:
    """The next round number above `count`: by 100 to 500, by 200 to 1,000, by 1,000 to 10,000,
    by 5,000 to 50,000, by 25,000 to 100,000, then by 100,000."""
    for ceiling, step in SUPPORTER_LADDER:
        if count < ceiling:
            return (count // step + 1) * step
    return (count // 100_000 + 1) * 100_000


def supporter_milestones_passed(count: int) -> list[int]:
    """Every ladder rung at or below `count` (0 excluded)."""
    rungs, value = [], 0
    while True:
        value = next_supporter_milestone(value)
        if value > count:
            return rungs
        rungs.append(value)
