"""Numbers as people read them: one formatter for the CLI, the app and reports.

KPI values carry a unit (``share``, ``s``, ``money``, ``calls``, ``accounts``); money
follows the scenario's currency and number convention (``economics.currency``,
``economics.currency_symbol``, ``economics.number_format``), so a German operation reads
"1.234,56 €" while the CLI's default stays "1,234.56 EUR". Kept in one module so that a
change of convention does not have to be made in three places.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

NumberStyle = Literal["en", "de"]

SEPARATORS: dict[str, tuple[str, str]] = {"en": (".", ","), "de": (",", ".")}
"""(decimal separator, thousands separator) per number convention."""


@dataclass(frozen=True)
class MoneyFormat:
    """How money and numbers are written: currency code or symbol and separators.

    ``symbol`` None writes the currency code after the amount ("1,234.56 EUR");
    a symbol is written after the amount with a space in German style ("1.234,56 €")
    and before it in English style ("€1,234.56").
    """

    currency: str = "EUR"
    symbol: str | None = None
    style: NumberStyle = "en"

    @classmethod
    def from_scenario(cls, scenario: Any) -> MoneyFormat:
        """The scenario's convention; tolerates scenarios without the optional fields."""
        eco = scenario.economics
        return cls(
            currency=eco.currency,
            symbol=getattr(eco, "currency_symbol", None) or None,
            style=getattr(eco, "number_format", "en") or "en",
        )

    @property
    def unit(self) -> str:
        """What money is shown in: the symbol when there is one, else the code."""
        return self.symbol or self.currency


def format_number(value: float, decimals: int = 0, style: str = "en") -> str:
    """``value`` with thousands grouping and ``decimals`` places in ``style``."""
    dec, thousands = SEPARATORS.get(style, SEPARATORS["en"])
    text = f"{value:,.{decimals}f}"
    if style == "en":
        return text
    return text.replace(",", "\0").replace(".", dec).replace("\0", thousands)


def _money(v: float, fmt: MoneyFormat, decimals: int) -> str:
    amount = format_number(v, decimals, fmt.style)
    if fmt.symbol is None:
        return f"{amount} {fmt.currency}"
    if fmt.style == "en":
        sign, digits = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
        return f"{sign}{fmt.symbol}{digits}"
    return f"{amount} {fmt.symbol}"


def format_value(
    value: float | None,
    unit: str,
    money: MoneyFormat | str = "EUR",
    *,
    money_decimals: int = 2,
) -> str:
    """A KPI value with its unit: shares as "87.0 %", seconds as "5.8 s", money with
    currency, counts as whole numbers; "n/a" when nothing was counted.

    ``money`` is a MoneyFormat, or a currency code for the CLI's English convention.
    """
    fmt = MoneyFormat(currency=money) if isinstance(money, str) else money
    if value is None:
        return "n/a"
    v = float(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    style = fmt.style
    if unit == "share":
        return f"{format_number(v * 100, 1, style)} %"
    if unit == "s":
        return f"{format_number(v, 1, style)} s"
    if unit == "money":
        return _money(v, fmt, money_decimals)
    if unit in ("calls", "accounts"):
        return format_number(v, 0 if v.is_integer() else 1, style)
    if style == "en":
        return f"{v:,.4g} {unit}".rstrip()
    text = f"{v:,.4g}".replace(",", "\0").replace(".", ",").replace("\0", ".")
    return f"{text} {unit}".rstrip()


def format_interval(
    low: float | None,
    high: float | None,
    unit: str,
    money: MoneyFormat | str = "EUR",
    *,
    money_decimals: int = 0,
) -> str:
    """A 95 % confidence interval as "[low, high]" in the value's unit ("" if unknown)."""
    if low is None or high is None:
        return ""
    lo, hi = float(low), float(high)
    if math.isnan(lo) or math.isnan(hi):
        return ""
    a = format_value(lo, unit, money, money_decimals=money_decimals)
    b = format_value(hi, unit, money, money_decimals=money_decimals)
    sep = "; " if (isinstance(money, MoneyFormat) and money.style == "de") else ", "
    return f"[{a}{sep}{b}]"


def format_diff(
    value: float | None, unit: str, money: MoneyFormat | str = "EUR", *, money_decimals: int = 0
) -> str:
    """A difference with an explicit sign ("+1.2 %", "-340 €"); shares in points."""
    if value is None or math.isnan(float(value)):
        return "n/a"
    v = float(value)
    text = format_value(abs(v), unit, money, money_decimals=money_decimals)
    if unit == "share":
        points = abs(v) * 100
        if 0 < points < 0.1:  # a real difference must not read as "0.0"
            style = money.style if isinstance(money, MoneyFormat) else "en"
            text = f"{format_number(points, 3, style)} pp"
        else:
            text = text.replace(" %", " pp")
    sign = "+" if v > 0 else "-" if v < 0 else "±"
    return f"{sign}{text}"


_DE_TIME = {
    "dateTime": "%A, %e. %B %Y, %X",
    "date": "%d.%m.%Y",
    "time": "%H:%M:%S",
    "periods": ["AM", "PM"],
    "days": ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
    "shortDays": ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
    "months": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    "shortMonths": [
        "Jan",
        "Feb",
        "Mär",
        "Apr",
        "Mai",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Okt",
        "Nov",
        "Dez",
    ],
}


def vega_locale(money: MoneyFormat, lang: str = "en") -> dict[str, Any]:
    """Chart locale (Vega's d3 format): axis numbers in the scenario's separators, dates
    in the reader's language, so charts read like the tables beside them."""
    dec, thousands = SEPARATORS.get(money.style, SEPARATORS["en"])
    symbol = money.symbol or money.currency
    currency = ["", f" {symbol}"] if money.style == "de" or not money.symbol else [symbol, ""]
    locale: dict[str, Any] = {
        "number": {"decimal": dec, "thousands": thousands, "grouping": [3], "currency": currency}
    }
    if lang == "de":
        locale["time"] = _DE_TIME
    return locale
