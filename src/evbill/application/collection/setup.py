"""How an operator's customers pay, as set up ahead: cards on file, SEPA mandates, the collection policy.

* A card on file is a gateway token (``tok_visa`` on the sandbox, ``pm_...`` on Stripe, obtained by
  the customer's own SetupIntent with Stripe.js, which ``card_setup`` starts and confirms): never a
  card number. One per customer; it pays the
  customer's invoices when they are issued (contracts paying by ``CARD_ON_FILE``) and, switched on
  with ``charge_sessions``, each session at its end.
* A mandate is revoked, never deleted: the collection files that used it keep naming it.
* The policy read is the operator's, or the default one when they have set none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from evbill.application.ports import UnitOfWork
from evbill.application.receivables import policy_of
from evbill.application.records import Page, Services, checked_limit, page_of, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.collection.dunning import CardOnFile
from evbill.domain.collection.mandates import Mandate
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.errors import InvalidInput, NotFound, Problem, StaleVersion
from evbill.domain.payments.model import looks_like_card_number


def save_customer_card(
    services: Services,
    actor: Actor,
    customer_id: str,
    *,
    gateway: str,
    payment_method: str,
    charge_sessions: bool | None,
) -> CardOnFile:
    """Keep the customer's gateway token (replacing the card before) and whether it pays sessions
    (None: as the card before said, off for a first card)."""
    require(actor, Permission.BILL)
    if looks_like_card_number(payment_method) or not payment_method.strip() or len(payment_method) > 100:
        raise InvalidInput(
            "the card on file is refused",
            (Problem("$.payment_method", "a gateway token, never a card number"),),
        )
    with services.uow() as uow:
        if uow.customers.get(actor.operator_id, customer_id) is None:
            raise NotFound(f"customer {customer_id!r} not found")
        if charge_sessions is None:
            before = uow.collection.card_of(actor.operator_id, customer_id)
            charge_sessions = before is not None and before.charge_sessions
        card = CardOnFile(
            actor.operator_id, customer_id, gateway, payment_method, services.clock.now(), charge_sessions
        )
        keep_card(uow, card)
        uow.commit()
    return card


def keep_card(uow: UnitOfWork, card: CardOnFile) -> None:
    """Store the card on file (replacing the one before) with its session charging: the one place a
    card on file is written (by ``save_customer_card``, and when a card setup succeeds)."""
    uow.collection.save_card(card)
    uow.collection.set_charge_sessions(card.operator_id, card.customer_id, card.charge_sessions)


def list_cards(services: Services, actor: Actor, *, cursor: str | None, limit: int) -> Page[CardOnFile]:
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        cards = uow.collection.cards(actor.operator_id, after=cursor, limit=limit + 1)
    return page_of(cards, limit, lambda card: card.customer_id)


def get_card(services: Services, actor: Actor, customer_id: str) -> CardOnFile:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        card = uow.collection.card_of(actor.operator_id, customer_id)
    if card is None:
        raise NotFound(f"customer {customer_id!r} has no card on file")
    return card


def card_tag(card: CardOnFile) -> str:
    """The card's version as the API's ETag gives it: a digest of what the card is (token, gateway,
    when saved, per-session charging), so any change, a new card or the switch, gives a new tag."""
    state = "|".join(
        (card.gateway, card.payment_method, card.saved_at.isoformat(), str(card.charge_sessions))
    )
    return hashlib.sha256(state.encode()).hexdigest()[:20]


def set_session_charging(
    services: Services, actor: Actor, customer_id: str, on: bool, *, expected_tag: str | None = None
) -> CardOnFile:
    """Charge each of the customer's sessions to the card on file at its end (on), or not (off).
    ``expected_tag``: the ``card_tag`` the caller read; StaleVersion if the card changed since."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        before = uow.collection.card_of(actor.operator_id, customer_id)
        if before is None:
            raise NotFound(f"customer {customer_id!r} has no card on file")
        if expected_tag is not None and card_tag(before) != expected_tag:
            raise StaleVersion("the card on file was changed since it was read: GET it again")
        if not uow.collection.set_charge_sessions(actor.operator_id, customer_id, on, expected=before):
            raise StaleVersion("the card on file was changed since it was read: GET it again")
        card = uow.collection.card_of(actor.operator_id, customer_id)
        uow.commit()
    assert card is not None
    return card


def remove_card(services: Services, actor: Actor, customer_id: str) -> None:
    """Forget the card: nothing more is charged to it (invoices then wait for another way to pay)."""
    require(actor, Permission.BILL)
    with services.uow() as uow:
        if not uow.collection.remove_card(actor.operator_id, customer_id):
            raise NotFound(f"customer {customer_id!r} has no card on file")
        uow.commit()


def list_mandates(services: Services, actor: Actor, *, customer_id: str | None = None) -> Sequence[Mandate]:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return uow.collection.mandates(actor.operator_id, customer_id)


def get_mandate(services: Services, actor: Actor, mandate_id: str) -> Mandate:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        found = [m for m in uow.collection.mandates(actor.operator_id) if m.id == mandate_id]
    if not found:
        raise NotFound(f"mandate {mandate_id!r} not found")
    return found[0]


def revoke_mandate(services: Services, actor: Actor, mandate_id: str) -> Mandate:
    """Revoke the mandate: no later collection file uses it (files already written stand)."""
    require(actor, Permission.BILL)
    get_mandate(services, actor, mandate_id)
    with services.uow() as uow:
        uow.collection.revoke_mandate(actor.operator_id, mandate_id, services.clock.now())
        uow.commit()
    return get_mandate(services, actor, mandate_id)


def get_policy(services: Services, actor: Actor) -> CollectionPolicy:
    """The operator's collection policy (the default one until they set theirs)."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return policy_of(uow, actor.operator_id)
