"""Numbers as people read them: one formatter for the CLI, the app and reports.

KPI values carry a unit (``share``, ``s``, ``money``, ``calls``, ``accounts``); money
follows the scenario's currency and number convention (``economics.currency``,
``economics.currency_symbol``, ``economics.number_format``), so a German operation reads
"1.234,56 €" while the CLI's default stays "1,234.56 EUR". Kept in one module so that a
change of convention does not have to be made in three places.
"""

from __future__ import annotations

import datetime as _dt
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


_COMPACT: dict[str, tuple[tuple[float, str], ...]] = {
    "en": ((1e9, "bn"), (1e6, "M"), (1e3, "k")),
    "de": ((1e9, "Mrd."), (1e6, "Mio."), (1e3, "Tsd.")),
}


def format_compact(
    value: float | None, unit: str, money: MoneyFormat | str = "EUR", *, lang: str = "en"
) -> str:
    """A KPI value short enough for a card: money and counts in
    millions (from 1 000 000 on) with three significant digits ("11,6 Mio. €", "€11.6 M");
    anything smaller, and other units, exactly as ``format_value`` writes them."""
    fmt = MoneyFormat(currency=money) if isinstance(money, str) else money
    if value is None or unit not in ("money", "calls", "accounts"):
        return format_value(value, unit, fmt, money_decimals=0)
    v = float(value)
    if not math.isfinite(v) or abs(v) < 1e6:
        return format_value(v, unit, fmt, money_decimals=0)
    words = _COMPACT["de" if lang == "de" else "en"]
    scale, word = next((s, w) for s, w in words if abs(v) >= s)
    digits = max(0, 2 - math.floor(math.log10(abs(v) / scale)))
    number = f"{format_number(v / scale, digits, fmt.style)} {word}"
    if unit != "money":
        return number
    if fmt.symbol is None:
        return f"{number} {fmt.currency}"
    if fmt.style == "en":
        sign, rest = ("-", number[1:]) if number.startswith("-") else ("", number)
        return f"{sign}{fmt.symbol}{rest}"
    return f"{number} {fmt.symbol}"


def format_date(value: Any, lang: str = "en") -> str:
    """A date as the reader writes it: ISO (2027-02-01) in English, 01.02.2027 in German."""
    d = value if isinstance(value, _dt.date) else _dt.date.fromisoformat(str(value)[:10])
    return d.strftime("%d.%m.%Y") if lang == "de" else d.isoformat()


def format_timestamp(value: Any, lang: str = "en") -> str:
    """A stored UTC time stamp in the machine's local time, to the minute, in the
    reader's date format ("" when it cannot be read)."""
    try:
        t = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    t = t.astimezone()
    return f"{format_date(t.date(), lang)} {t:%H:%M}"
