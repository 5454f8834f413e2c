"""The key's standing before anything is paid: tier, spendable balances, expiry, rate limits.

``GET /api_keys/rate_limits`` (an inference key may call it; ``/billing/balance`` is for admin keys)
answers ``{data: {accessPermitted, apiTier: {id, isCharged}, balances: {USD, DIEM, VCU?},
keyExpiration, nextEpochBegins, rateLimits: [{apiModelId, rateLimits: [{amount, type}]}]}}``
(venice-api.md 0b.19). ``KeyStanding`` reads it forgivingly: a missing or odd field is ``None``,
never a crash, since the shape is observed, not specified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidResponseError
from .text import esc, readable_date

RATE_LIMITS_PATH = "/api_keys/rate_limits"


@dataclass(frozen=True)
class KeyStanding:
    """What the key may spend and how fast, as the service said when asked."""

    tier: str | None = None
    charged: bool | None = None
    access_permitted: bool | None = None
    balances: dict[str, float] = field(default_factory=dict)  # "USD", "DIEM", maybe "VCU"
    key_expiration: str | None = None
    next_epoch: str | None = None
    limits: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> {"RPM": 20, ...}
    local_preview: bool = False

    @classmethod
    def from_json(cls, doc: Any, *, local_preview: bool = False) -> KeyStanding:
        data = doc.get("data") if isinstance(doc, Mapping) else None
        if not isinstance(data, Mapping):
            raise InvalidResponseError("the rate-limits answer holds no 'data' object")
        tier = _mapping(data.get("apiTier"))
        raw_balances = _mapping(data.get("balances"))
        balances = {
            str(k).upper(): float(v)
            for k, v in raw_balances.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        limits: dict[str, dict[str, int]] = {}
        for row in data.get("rateLimits") or []:
            if not isinstance(row, Mapping) or not isinstance(row.get("apiModelId"), str):
                continue
            limits[row["apiModelId"]] = {
                str(item["type"]): int(item["amount"])
                for item in row.get("rateLimits") or []
                if isinstance(item, Mapping)
                and isinstance(item.get("amount"), (int, float))
                and item.get("type")
            }
        return cls(
            tier=_text(tier.get("id")),
            charged=_bool(tier.get("isCharged")),
            access_permitted=_bool(data.get("accessPermitted")),
            balances=balances,
            key_expiration=_text(data.get("keyExpiration")),
            next_epoch=_text(data.get("nextEpochBegins")),
            limits=limits,
            local_preview=local_preview,
        )

    # ---- reading it ---------------------------------------------------------------------------

    def limits_for(self, models: Iterable[str]) -> dict[str, dict[str, int] | None]:
        """Each model's limits (None where the answer lists nothing for it), in the order given."""
        return {m: self.limits.get(m) for m in dict.fromkeys(models)}

    def balance_text(self) -> str:
        parts = []
        if "USD" in self.balances:
            parts.append(f"${self.balances['USD']:,.2f}")
        if "DIEM" in self.balances:
            parts.append(f"{self.balances['DIEM']:,.4f}".rstrip("0").rstrip(".") + " DIEM")
        parts += [f"{v:g} {k}" for k, v in self.balances.items() if k not in ("USD", "DIEM")]
        return " + ".join(parts) if parts else "no balance reported"

    def summary(self) -> str:
        """One line: whose numbers these are, tier, spendable balances, expiry."""
        who = (
            "local preview (simulated numbers, not a Venice account)"
            if self.local_preview
            else "Venice key"
        )
        tier = self.tier or "unknown tier"
        if self.charged is False:
            tier += ", not charged"
        expiry = (
            f"expires {readable_date(self.key_expiration)}" if self.key_expiration else "no expiry"
        )
        blocked = "; ACCESS NOT PERMITTED" if self.access_permitted is False else ""
        return f"{who}: tier {tier}; can spend {self.balance_text()}; {expiry}{blocked}"

    def lines(self, models: Iterable[str]) -> list[str]:
        out = [self.summary()]
        for model, limits in self.limits_for(models).items():
            shown = ", ".join(f"{v:,} {k}" for k, v in limits.items()) if limits else "not listed"
            out.append(f"{model}: {shown}")
        if self.next_epoch:
            out.append(f"daily allowances renew {readable_date(self.next_epoch)}")
        return out

    def text(self, models: Iterable[str] = ()) -> str:
        return "\n".join(self.lines(models))

    def html(self, models: Iterable[str] = ()) -> str:
        first, *rest = self.lines(models)
        items = "".join(f"<li>{esc(line)}</li>" for line in rest)
        return (
            f'<div class="venice-nb-balance"><b>{esc(first)}</b>'
            f'<ul style="margin:2px 0 0 0">{items}</ul></div>'
        )

    def _repr_html_(self) -> str:
        return self.html(list(self.limits)[:5])

    def __repr__(self) -> str:
        where = "local preview" if self.local_preview else "venice"
        return (
            f"<KeyStanding {where} tier={self.tier} balances={self.balances} "
            f"models={len(self.limits)}>"
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
