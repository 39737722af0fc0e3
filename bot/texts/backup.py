"""/export and /import."""

from __future__ import annotations

from decimal import Decimal

from bot.texts.base import AlertLike, price, TextsBase


class BackupTexts(TextsBase):
    # -- backups: /export and /import -----------------------------------------------------------
    def export_caption(self, count: int) -> str:
        return self._n("📦 {count} alert of this chat. Send this file back with the caption /import to create it again.",
                       "📦 {count} alerts of this chat. Send this file back with the caption /import to create them "
                       "again.", count).format(count=count)

    def export_empty(self) -> str:
        return self._("You have no live alerts to export.")

    def import_usage(self) -> str:
        return self._("Send a CSV file made by /export with the caption <code>/import</code>, "
                      "or answer such a file with <code>/import</code>.")

    def import_too_large(self, kilobytes: int) -> str:
        return self._("That file is too large: at most {size} KB. Nothing was created.").format(size=kilobytes)

    def import_too_many(self, limit: int) -> str:
        return self._("That file lists more than {limit} alerts, the most a chat may have. "
                      "Nothing was created.").format(limit=limit)

    def import_malformed(self, line: int) -> str:
        return self._("That file is not an alert list from /export (line {line}). Nothing was created. "
                      "Its first line must be <code>symbol,direction,level,note,repeat,expiry</code>.").format(line=line)

    def import_empty(self) -> str:
        return self._("That file lists no alerts. Nothing was created.")

    def import_result(self, created: int, refused: int) -> str:
        return self._("📥 Import: {created} created, {refused} refused.").format(created=created, refused=refused)

    def import_created(self, line: int, alert: AlertLike) -> str:
        return self._("Line {line}: ✅ {alert}").format(line=line, alert=self._line(alert) + self._options(alert))

    def import_far_level(self, level: Decimal, current: Decimal) -> str:
        return self._("{level} is more than 10 times away from the price ({price}): create it with /alert, "
                      "which asks you to confirm.").format(level=price(level), price=price(current))

    def import_refused(self, line: int, reason: str) -> str:
        return self._("Line {line}: ✖ {reason}").format(line=line, reason=reason)
