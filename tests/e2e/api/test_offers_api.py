"""Plans, contracts, promotions and bills through the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.application.access.keys import platform_actor
from evbill.application.charging.pricing import record_session
from evbill.domain.access.operators import Role
from evbill.domain.metering.cleaning import MeterSample
from tests.e2e.api.conftest import SIMPLE_TARIFF, make_site

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
SINCE_JANUARY = "2026-01-01T00:00:00Z"


def if_match(version):
    return {"If-Match": f'"{version}"'}


def make_plan(tenant, name="Basic", kind="PAY_PER_USE", **version):
    body = {
        "name": name,
        "kind": kind,
        "currency": "EUR",
        "version": {"effective_from": SINCE_JANUARY, **version},
    }
    return tenant.created("/plans", body)


def make_contract(tenant, plan, *, start="2026-01-01T00:00:00Z", activate=False, customer=None):
    customer = customer or tenant.created("/customers", JAN)
    body = {
        "customer_id": customer["id"],
        "start": start,
        "activate": activate,
        "terms": {"plan_id": plan["id"], "payment_method": "INVOICE_BANK_TRANSFER"},
    }
    return tenant.created("/contracts", body)


# Plans


def test_a_plan_is_created_with_its_first_version_and_amounts_as_exact_strings(api):
    alpha = api.tenant()

    response = alpha.post(
        "/plans",
        json={"name": "Plus 100", "kind": "SUBSCRIPTION", "currency": "EUR",
              "version": {"effective_from": SINCE_JANUARY, "fee": "9.99", "fee_vat": "21",
                          "included_kwh": "100"}},
    )  # fmt: skip

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    plan = response.json()
    assert (plan["kind"], plan["current_version"]) == ("SUBSCRIPTION", 1)
    [first] = plan["versions"]
    assert (first["number"], first["fee"], first["fee_vat"], first["included_kwh"]) == (
        1,
        "9.99",
        "21",
        "100",
    )
    assert first["fee_cycle"] == "MONTHLY"
    assert alpha.get(f"/plans/{plan['id']}").json() == plan


def test_a_plan_is_checked_for_its_kind_field_by_field(api):
    alpha = api.tenant()

    membership = alpha.post(
        "/plans", json={"name": "M", "kind": "MEMBERSHIP", "currency": "EUR", "version": {}}
    )
    flat = alpha.post(
        "/plans", json={"name": "F", "kind": "FLAT_RATE", "currency": "EUR", "version": {"fee": 5}}
    )
    negative = alpha.post("/plans", json={"name": "N", "kind": "SUBSCRIPTION", "currency": "EUR",
                                          "version": {"fee": "-1", "bonus": 1}})  # fmt: skip

    assert [e["path"] for e in membership.json()["errors"]] == ["$.version.tariffs"]
    assert [e["path"] for e in flat.json()["errors"]] == ["$.version.fair_use_kwh"]
    assert sorted(e["path"] for e in negative.json()["errors"]) == ["$.version.bonus", "$.version.fee"]


def test_a_plan_gets_new_versions_from_a_date_and_keeps_the_old_ones(api):
    alpha = api.tenant()
    plan = make_plan(alpha, "Plus", "SUBSCRIPTION", fee="9.99", included_kwh="100")
    versions = f"/plans/{plan['id']}/versions"
    december = {"effective_from": "2026-12-01T00:00:00+01:00", "fee": "12.50", "included_kwh": "150"}

    without_etag = alpha.post(versions, json=december)
    added = alpha.post(versions, json=december, headers=if_match(1))
    stale = alpha.post(
        versions, json={**december, "effective_from": "2027-01-01T00:00:00Z"}, headers=if_match(1)
    )
    backdated = alpha.post(versions, json={**december, "effective_from": "2026-06-01T00:00:00Z"},
                           headers=if_match(2))  # fmt: skip

    assert without_etag.status_code == 428
    assert added.status_code == 201
    assert added.headers["ETag"] == '"2"'
    assert [(v["number"], v["fee"]) for v in added.json()["versions"]] == [(1, "9.99"), (2, "12.50")]
    assert added.json()["current_version"] == 2
    assert stale.status_code == 412
    assert backdated.status_code == 422
    assert [e["path"] for e in backdated.json()["errors"]] == ["$.effective_from"]


def test_plans_are_listed_and_filtered_by_kind(api):
    alpha = api.tenant()
    basic = make_plan(alpha)
    plus = make_plan(alpha, "Plus", "SUBSCRIPTION", fee="9.99")

    everything = alpha.get("/plans").json()["items"]
    subscriptions = alpha.get("/plans", params={"kind": "SUBSCRIPTION"}).json()["items"]

    assert [p["id"] for p in everything] == [basic["id"], plus["id"]]
    assert [p["id"] for p in subscriptions] == [plus["id"]]


# Contracts


def test_a_contract_moves_through_its_lifecycle_and_an_ended_one_stays_ended(api):
    alpha = api.tenant()
    contract = make_contract(alpha, make_plan(alpha))
    status = f"/contracts/{contract['id']}/status"

    steps = [
        alpha.post(status, json={"status": target}, headers=if_match(version))
        for version, target in enumerate(("ACTIVE", "SUSPENDED", "ACTIVE"), start=1)
    ]
    ended = alpha.post(status, json={"status": "ENDED", "end": "2026-12-31T23:00:00Z"}, headers=if_match(4))
    revived = alpha.post(status, json={"status": "ACTIVE"}, headers=if_match(5))

    assert contract["status"] == "DRAFT"
    assert [(s.status_code, s.json()["status"]) for s in steps] == [
        (200, "ACTIVE"), (200, "SUSPENDED"), (200, "ACTIVE"),
    ]  # fmt: skip
    assert (ended.json()["status"], ended.json()["end"]) == ("ENDED", "2026-12-31T23:00:00Z")
    assert ended.headers["ETag"] == '"5"'
    assert revived.status_code == 409
    assert revived.json()["detail"] == "a ENDED contract cannot become ACTIVE"


def test_new_terms_apply_from_their_date_and_the_history_is_kept(api):
    alpha = api.tenant()
    basic, plus = make_plan(alpha), make_plan(alpha, "Plus", "SUBSCRIPTION", fee="9.99")
    contract = make_contract(alpha, basic, activate=True)
    terms = f"/contracts/{contract['id']}/terms"

    changed = alpha.post(
        terms,
        json={"effective_from": "2026-11-17T00:00:00+01:00", "plan_id": plus["id"]},
        headers=if_match(1),
    )
    too_early = alpha.post(terms, json={"effective_from": "2026-10-01T00:00:00Z"}, headers=if_match(2))
    no_null_plan = alpha.post(
        terms, json={"effective_from": "2027-01-01T00:00:00Z", "plan_id": None}, headers=if_match(2)
    )
    listed = alpha.get("/contracts", params={"customer_id": contract["customer_id"]}).json()["items"]

    assert changed.status_code == 201
    history = changed.json()["terms"]
    assert [(t["number"], t["plan_id"], t["effective_from"]) for t in history] == [
        (1, basic["id"], "2026-01-01T00:00:00Z"),
        (2, plus["id"], "2026-11-16T23:00:00Z"),
    ]
    assert history[1]["payment_method"] == "INVOICE_BANK_TRANSFER"  # kept from the terms before
    assert changed.json()["current_terms"] == 2
    assert too_early.status_code == 422
    assert [e["path"] for e in too_early.json()["errors"]] == ["$.effective_from"]
    assert [e["path"] for e in no_null_plan.json()["errors"]] == ["$.plan_id"]
    assert [(c["id"], c["current_terms"]) for c in listed] == [(contract["id"], 2)]


def test_a_contract_is_refused_for_a_fleet_driver_or_a_plan_in_another_currency(api):
    alpha = api.tenant()
    fleet = alpha.created("/customers", {**JAN, "kind": "BUSINESS", "name": "Fleet"})
    driver = alpha.created("/customers", {**JAN, "parent_id": fleet["id"]})
    swiss = alpha.created("/customers", {**JAN, "currency": "CHF", "country": "CH"})
    plan = make_plan(alpha)

    def contract_for(customer):
        body = {"customer_id": customer["id"], "start": SINCE_JANUARY,
                "terms": {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE"}}  # fmt: skip
        return alpha.post("/contracts", json=body)

    assert [e["path"] for e in contract_for(driver).json()["errors"]] == ["$.customer_id"]
    assert [e["path"] for e in contract_for(swiss).json()["errors"]] == ["$.terms.plan_id"]


# Promotions


def test_a_coupon_is_given_by_its_code_once(api):
    alpha = api.tenant()
    jan = alpha.created("/customers", JAN)
    coupon = alpha.created(
        "/promotions",
        {"name": "Welcome", "kind": "COUPON", "code": "welcome10", "discount_kind": "PERCENT", "value": "10"},
    )

    first = alpha.post(f"/customers/{jan['id']}/promotions", json={"code": "Welcome10"})
    again = alpha.post(f"/customers/{jan['id']}/promotions", json={"promotion_id": coupon["id"]})
    unknown = alpha.post(f"/customers/{jan['id']}/promotions", json={"code": "NOPE"})
    both = alpha.post(f"/customers/{jan['id']}/promotions", json={"code": "X", "promotion_id": coupon["id"]})
    duplicate_code = alpha.post("/promotions", json={"name": "Copy", "kind": "COUPON", "code": "WELCOME10",
                                                     "discount_kind": "FIXED", "value": "5"})  # fmt: skip

    assert (coupon["code"], coupon["value"], coupon["duration"]) == ("WELCOME10", "10", "ONCE")
    assert (first.status_code, first.json()["new"]) == (201, True)
    assert (again.status_code, again.json()["new"]) == (200, False)
    assert unknown.status_code == 422  # a code in the body that matches nothing is invalid input
    assert unknown.json()["errors"][0]["path"] == "$.code"
    assert both.status_code == 422
    assert duplicate_code.status_code == 409
    assert [p["id"] for p in alpha.get("/promotions", params={"code": "welcome10"}).json()["items"]] == [
        coupon["id"]
    ]


def test_a_promotion_lists_every_missing_field_of_its_kind(api):
    alpha = api.tenant()

    response = alpha.post("/promotions", json={"name": "Coupon", "kind": "COUPON", "duration": "CYCLES"})

    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.code",
        "$.discount_kind",
        "$.value",
        "$.cycles",
    ]


# Bills


def record(api, tenant, site, uid, start, minutes, kwh):
    """Store a finished session as the OCPP central system will: two meter readings, priced."""
    started = datetime.fromisoformat(start)
    ended = started + timedelta(minutes=minutes)
    register = Decimal(1_000_000)  # Wh on the meter before the session
    samples = [
        MeterSample(started, energy=register),
        MeterSample(ended, energy=register + Decimal(kwh) * 1000),
    ]
    recorded = record_session(
        api.container.services, platform_actor(tenant.operator_id), evse_id=site["evse"]["id"], token_uid=uid,
        started_at=started, ended_at=ended, samples=samples,
    )  # fmt: skip
    return recorded.session


def subscriber(api, tenant):
    """A Plus 100 subscriber (9.99 a month + 21 % VAT, 100 kWh included) since 1 November 2026 (Amsterdam),
    charging at the public tariff: 0.35 a session and 0.39 per kWh, both + 21 % VAT."""
    site = make_site(tenant)
    tariff = tenant.created("/tariffs", SIMPLE_TARIFF)
    tenant.created("/tariff-assignments", {"tariff_id": tariff["id"], "scope": "operator"})
    plan = make_plan(tenant, "Plus 100", "SUBSCRIPTION", fee="9.99", fee_vat="21", included_kwh="100")
    customer = tenant.created("/customers", JAN)
    contract = make_contract(
        tenant, plan, start="2026-11-01T00:00:00+01:00", activate=True, customer=customer
    )
    tenant.created("/tokens", {"customer_id": customer["id"], "uid": "JAN-1", "type": "RFID",
                               "contract_id": "NL-EVB-C00000001-X"})  # fmt: skip
    first = record(api, tenant, site, "JAN-1", "2026-11-03T08:00:00+00:00", 60, 60)
    second = record(api, tenant, site, "JAN-1", "2026-11-10T18:00:00+00:00", 90, 55)
    return customer, contract, first, second


FEE = "Plus 100 fee, 30 of 30 days (2026-11-01 to 2026-11-30)"
FIRST_SESSION = "Charging 2026-11-03 09:00 CET, AC, 60 kWh (the operator's default tariff)"
SECOND_SESSION = "Charging 2026-11-10 19:00 CET, AC, 55 kWh (the operator's default tariff)"


def test_a_subscription_cycle_is_billed_with_its_fee_sessions_and_included_kwh(api):
    """By hand, November 2026 (30 days), everything + 21 % VAT:

    plan fee        9.99 x 30/30                          =   9.99
    session 1       0.35 + 60 kWh x 0.39 = 0.35 + 23.40   =  23.75
    session 2       0.35 + 55 kWh x 0.39 = 0.35 + 21.45   =  21.80
    included kWh    session 1: all 60 kWh of energy       = -23.40
                    session 2: the last 40 of 100 kWh,
                    21.45 x 40/55                         = -15.60
    total excl. VAT 9.99 + 23.75 + 21.80 - 23.40 - 15.60  =  16.54
    VAT             16.54 x 21 %                          =   3.4734  -> 3.47
    total incl. VAT                                          20.0134  -> 16.54 + 3.47 = 20.01
    """
    alpha = api.tenant()
    _, contract, first, second = subscriber(api, alpha)

    response = alpha.get(f"/contracts/{contract['id']}/bill", params={"cycle_start": "2026-11-01"})

    assert response.status_code == 200, response.text
    bill = response.json()
    assert (bill["cycle_start"], bill["cycle_end"], bill["currency"]) == ("2026-11-01", "2026-12-01", "EUR")
    assert [(line["kind"], line["description"], line["excl_vat"], line["vat"], line["session_id"])
            for line in bill["lines"]] == [
        ("PLAN_FEE", FEE, "9.9900000000", "21", None),
        ("SESSION", FIRST_SESSION, "23.7500000000", "21.0", first.id),
        ("SESSION", SECOND_SESSION, "21.8000000000", "21.0", second.id),
        ("ALLOWANCE", "60 kWh included kWh of Plus 100", "-23.4000000000", "21.0", first.id),
        ("ALLOWANCE", "40 kWh included kWh of Plus 100", "-15.6000000000", "21.0", second.id),
    ]  # fmt: skip
    assert bill["categories"] == [{"vat": "21", "base": "16.5400000000", "tax": "3.4734000000"}]
    assert bill["totals"] == {"excl_vat": "16.5400000000", "vat": "3.4734000000", "incl_vat": "20.0134000000"}
    assert bill["rounded_totals"] == {"excl_vat": "16.54", "vat": "3.47", "incl_vat": "20.01"}
    assert (bill["rounding_mode"], bill["applied_promotions"], bill["notes"]) == ("half_up", [], [])


def test_a_coupon_is_counted_once_however_often_its_cycle_is_billed(api):
    """The coupon takes 10 % off what charging still costs after the included kWh (not the fee):

    session 1   0.35 start fee (its energy is included)   -> 10 % = 0.035
    session 2   0.35 + (21.45 - 15.60) = 6.20             -> 10 % = 0.620
    total excl. VAT 16.54 - 0.655                          = 15.885     -> 15.89 (half up)
    VAT         15.885 x 21 %                              =  3.33585   ->  3.34
    total incl. VAT                                          19.22085   -> 15.89 + 3.34 = 19.23
    """
    alpha = api.tenant()
    customer, contract, first, second = subscriber(api, alpha)
    coupon = alpha.created("/promotions", {"name": "Welcome", "kind": "COUPON", "code": "WELCOME10",
                                           "discount_kind": "PERCENT", "value": "10"})  # fmt: skip
    alpha.post(f"/customers/{customer['id']}/promotions", json={"code": "welcome10"})
    bill_path = f"/contracts/{contract['id']}/bill"

    billed = alpha.post(bill_path, json={"cycle_start": "2026-11-01"})
    billed_again = alpha.post(bill_path, json={"cycle_start": "2026-11-01"})
    next_cycle = alpha.get(bill_path, params={"cycle_start": "2026-12-01"}).json()

    assert billed.status_code == 200, billed.text
    bill = billed.json()
    discounts = [(line["excl_vat"], line["session_id"], line["promotion_id"])
                 for line in bill["lines"] if line["kind"] == "DISCOUNT"]  # fmt: skip
    assert discounts == [
        ("-0.0350000000", first.id, coupon["id"]),
        ("-0.6200000000", second.id, coupon["id"]),
    ]
    assert bill["totals"] == {"excl_vat": "15.8850000000", "vat": "3.3358500000", "incl_vat": "19.2208500000"}
    assert bill["rounded_totals"] == {"excl_vat": "15.89", "vat": "3.34", "incl_vat": "19.23"}
    assert bill["applied_promotions"] == [
        {"promotion_id": coupon["id"], "discount_excl_vat": "0.6550000000", "free_kwh_used": "0"}
    ]
    assert billed_again.json() == bill
    with api.container.services.uow() as uow:
        counts = uow.redemptions.counts(alpha.operator_id, coupon["id"], customer["id"], contract["id"])
    assert (counts.total, counts.customer, counts.contract_cycles) == (1, 1, 1)
    assert not any(line["kind"] == "DISCOUNT" for line in next_cycle["lines"])  # a one-cycle coupon, used


def test_billing_needs_the_bill_permission_but_a_preview_only_reading(api):
    alpha = api.tenant()
    contract = make_contract(alpha, make_plan(alpha), activate=True)
    reader, support = alpha.with_role(Role.READ_ONLY), alpha.with_role(Role.SUPPORT)
    path = f"/contracts/{contract['id']}/bill"

    preview = reader.get(path, params={"cycle_start": "2026-11-01"})
    by_support = support.post(path, json={"cycle_start": "2026-11-01"})
    bad_day = alpha.post(path, json={"cycle_start": "2026-11-30"})
    not_a_date = alpha.get(path, params={"cycle_start": "November"})

    assert preview.status_code == 200
    assert by_support.status_code == 403
    assert [e["path"] for e in bad_day.json()["errors"]] == ["$.cycle_start"]
    assert [e["path"] for e in not_a_date.json()["errors"]] == ["query.cycle_start"]


def test_a_cycle_is_billed_once_with_an_id_and_a_state_and_a_mid_cycle_start_is_refused(api):
    # given a contract from 2026-01-01, billed monthly (issue 12: 11-01 and 11-15 both billed 11-15..11-30)
    alpha = api.tenant()
    contract = make_contract(alpha, make_plan(alpha), activate=True)
    path = f"/contracts/{contract['id']}/bill"

    # when the cycle is billed twice, and a day inside it is given as a cycle start
    first = alpha.post(path, json={"cycle_start": "2026-11-01"})
    again = alpha.post(path, json={"cycle_start": "2026-11-01"})
    overlapping = alpha.post(path, json={"cycle_start": "2026-11-15"})

    # then the bill is recorded once, keeps its id, and the overlapping cycle is refused with the reason
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "RECORDED"
    assert again.json()["id"] == first.json()["id"]
    assert overlapping.status_code == 422
    assert overlapping.json()["errors"] == [
        {
            "path": "$.cycle_start",
            "message": "2026-11-15 is not a cycle start of this contract (monthly cycles anchored on "
            "2026-01-01); the cycle containing it runs 2026-11-01 to 2026-12-01 (exclusive)",
            "severity": "error",
        }
    ]
    with api.container.services.uow() as uow:
        assert len(uow.bills.of_contract(alpha.operator_id, contract["id"])) == 1


def test_a_contract_starting_before_its_plans_first_version_is_refused_at_creation(api):
    # given a plan whose first version starts in June
    alpha = api.tenant()
    plan = alpha.created(
        "/plans",
        {"name": "Late", "kind": "PAY_PER_USE", "currency": "EUR",
         "version": {"effective_from": "2026-06-01T00:00:00Z"}},
    )  # fmt: skip
    customer = alpha.created("/customers", JAN)

    # when a contract on it starts in January
    response = alpha.post(
        "/contracts",
        json={"customer_id": customer["id"], "start": "2026-01-01T00:00:00Z",
              "terms": {"plan_id": plan["id"], "payment_method": "INVOICE_BANK_TRANSFER"}},
    )  # fmt: skip

    # then it is refused, saying why and what to do (it used to be accepted and then unbillable)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "$.terms.plan_id"
    assert "plan 'Late' starts on 2026-06-01T00:00:00+00:00, after these terms" in error["message"]
