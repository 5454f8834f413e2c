"""The classroom gateway: one teacher's Venice key, many students, each with a token and a budget.

``python -m venice_nb.classroom serve`` runs a small ASGI service (Starlette on uvicorn, httpx to the
upstream) that forwards the image routes only, under the teacher's policy, reserving each request's
price against the student's budget before it is sent and settling it after. The admin subcommands
(``add``, ``list``, ``report``, ``revoke``, ``budget``) work on the ledger file, never over the network.

Installed with ``pip install venice_nb[classroom]``; nothing here is imported by ``%load_ext``.
``ledger`` and ``policy`` need only the standard library; ``app`` and ``fairness`` need the extra.
"""

from __future__ import annotations

BALANCE_HEADER = (
    "x-venice-balance-usd"  # the student's remaining budget, in the live header's place
)
