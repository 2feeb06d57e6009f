"""The expiry-notice job: runs ``ExpiryNotices`` every ``every`` seconds (and soon after
the certificate index changes). Exactly once per certificate and threshold is the
command's doing (ca/applications/notices.py), so any number of runs, restarts and
schedulers are safe.
"""

from __future__ import annotations

from ca.applications.notices import ExpiryNotices, NoticeRun

__all__ = ["ExpiryNoticeJob"]


class ExpiryNoticeJob:
    name = "expiry-notices"

    def __init__(self, notices: ExpiryNotices, every: float = 3600.0) -> None:
        self.notices = notices
        self.every = every

    def run(self) -> NoticeRun:
        return self.notices.run()
