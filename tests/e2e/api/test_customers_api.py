"""Customers, tokens, CSV imports, authorisation and the price at an EVSE, through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.api.conftest import SIMPLE_TARIFF, make_site

ACME = {
    "kind": "BUSINESS",
    "name": "Acme Logistics B.V.",
    "email": "fleet@acme.example",
    "language": "nl",
    "currency": "EUR",
    "country": "NL",
    "address": "Damrak 1",
    "city": "Amsterdam",
    "postal_code": "1012 LG",
}
JAN = {"kind": "INDIVIDUAL", "name": "Jan Jansen", "language": "nl", "currency": "EUR", "country": "NL"}
IF_MATCH_1 = {"If-Match": '"1"'}


def make_customer(tenant, **fields):
    return tenant.created("/customers", {**JAN, **fields})


def make_token(tenant, customer, uid, **fields):
    body = {"customer_id": customer["id"], "uid": uid, "type": "RFID", "contract_id": f"NL-EVB-{uid}"}
    return tenant.created("/tokens", {**body, **fields})


def make_tariff(tenant, ocpi_id, energy_price=0.39):
    document = {
        **SIMPLE_TARIFF,
        "id": ocpi_id,
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": energy_price, "vat": 21.0, "step_size": 1}]}
        ],
    }
    return tenant.created("/tariffs", document)


def make_plan(tenant, kind="PAY_PER_USE", **version):
    # from January, like the contracts: a plan starting today could not bill them (issue 12)
    version = {"effective_from": "2026-01-01T00:00:00Z", **version}
    body = {"name": f"{kind} plan", "kind": kind, "currency": "EUR", "version": version}
    return tenant.created("/plans", body)


def make_contract(tenant, customer, plan, *, activate=True, **terms):
    body = {
        "customer_id": customer["id"],
        "start": "2026-01-01T00:00:00Z",
        "activate": activate,
        "terms": {"plan_id": plan["id"], "payment_method": "CARD_ON_FILE", **terms},
    }
    return tenant.created("/contracts", body)


def post_csv(tenant, path, text):
    return tenant.post(path, content=text.encode(), headers={"Content-Type": "text/csv"})


# Customers


def test_a_customer_is_created_with_its_vat_id_normalised_then_changed_and_deleted(api):
    alpha = api.tenant()

    created = alpha.post("/customers", json={**ACME, "vat_id": "nl 0044.95.445.B01"})
    path = f"/customers/{created.json()['id']}"
    renamed = alpha.patch(path, json={"name": "Acme B.V.", "city": None}, headers=IF_MATCH_1)
    deleted = alpha.delete(path, headers={"If-Match": '"2"'})

    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.json()["vat_id"] == "NL004495445B01"
    assert {k: created.json()[k] for k in ACME} == ACME
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["city"], renamed.json()["version"]) == (
        "Acme B.V.",
        None,
        2,
    )
    assert deleted.status_code == 204
    assert alpha.get(path).status_code == 404


def test_an_invalid_vat_id_is_refused_at_its_field_on_create_and_on_change(api):
    alpha = api.tenant()
    dutch = make_customer(alpha, vat_id="NL004495445B01")
    path = f"/customers/{dutch['id']}"

    german = alpha.post("/customers", json={**JAN, "country": "DE", "vat_id": "DE136695977"})
    bad_change = alpha.patch(path, json={"vat_id": "NL123456789B01"}, headers=IF_MATCH_1)
    moved_abroad = alpha.patch(path, json={"country": "DE"}, headers=IF_MATCH_1)  # NL number, DE customer
    normalised = alpha.patch(path, json={"vat_id": "nl 0044.95.445.B01"}, headers=IF_MATCH_1)

    assert german.status_code == 422
    assert german.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in german.json()["errors"]] == ["$.vat_id"]
    assert "DE136695977 is not a valid DE VAT number" in german.json()["errors"][0]["message"]
    assert [e["path"] for e in bad_change.json()["errors"]] == ["$.vat_id"]
    assert [e["path"] for e in moved_abroad.json()["errors"]] == ["$.vat_id"]
    assert normalised.json()["vat_id"] == "NL004495445B01"


def test_every_field_problem_of_a_customer_is_reported(api):
    alpha = api.tenant()

    response = alpha.post(
        "/customers",
        json={**JAN, "email": "not-an-email", "language": "NL", "currency": "EUX", "country": "XX"},
    )
    unknown_field = alpha.post("/customers", json={**JAN, "loyalty": True})

    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.email",
        "$.language",
        "$.currency",
        "$.country",
    ]
    assert [e["path"] for e in unknown_field.json()["errors"]] == ["$.loyalty"]


def test_a_fleet_driver_belongs_to_a_business_account(api):
    alpha = api.tenant()
    fleet = alpha.created("/customers", ACME)
    jan = make_customer(alpha)

    driver = alpha.post("/customers", json={**JAN, "name": "Piet", "parent_id": fleet["id"]})
    under_individual = alpha.post("/customers", json={**JAN, "parent_id": jan["id"]})
    business_under_business = alpha.post("/customers", json={**ACME, "parent_id": fleet["id"]})
    moved_under_individual = alpha.patch(
        f"/customers/{driver.json()['id']}", json={"parent_id": jan["id"]}, headers=IF_MATCH_1
    )
    drivers = alpha.get("/customers", params={"parent_id": fleet["id"]}).json()["items"]

    assert driver.status_code == 201
    assert under_individual.status_code == 422
    assert under_individual.json()["errors"][0]["path"] == "$.parent_id"
    assert business_under_business.status_code == 422
    assert moved_under_individual.status_code == 422
    assert [d["name"] for d in drivers] == ["Piet"]


def test_customers_are_filtered_by_kind_email_and_name(api):
    alpha = api.tenant()
    fleet = alpha.created("/customers", ACME)
    jan = make_customer(alpha, email="jan@example.nl")

    businesses = alpha.get("/customers", params={"kind": "BUSINESS"}).json()["items"]
    by_email = alpha.get("/customers", params={"email": "JAN@example.NL"}).json()["items"]
    by_name = alpha.get("/customers", params={"name": "logistics"}).json()["items"]

    assert [c["id"] for c in businesses] == [fleet["id"]]
    assert [c["id"] for c in by_email] == [jan["id"]]
    assert [c["id"] for c in by_name] == [fleet["id"]]


# Tokens and authorisation


def test_a_token_uid_is_unique_per_operator_but_not_across_operators(api):
    alpha, beta = api.tenant("Alpha"), api.tenant("Beta")
    alpha_jan, beta_jan = make_customer(alpha), make_customer(beta)

    first = alpha.post("/tokens", json={"customer_id": alpha_jan["id"], "uid": "04A2B3C4", "type": "RFID",
                                        "contract_id": "NL-EVB-C1"})  # fmt: skip
    again = alpha.post("/tokens", json={"customer_id": alpha_jan["id"], "uid": "04A2B3C4", "type": "RFID",
                                        "contract_id": "NL-EVB-C2"})  # fmt: skip
    elsewhere = beta.post("/tokens", json={"customer_id": beta_jan["id"], "uid": "04A2B3C4", "type": "RFID",
                                           "contract_id": "NL-EVB-C1"})  # fmt: skip

    assert first.status_code == 201
    assert first.json()["status"] == "ACTIVE"
    assert again.status_code == 409
    assert "uid '04A2B3C4' already exists" in again.json()["detail"]
    assert elsewhere.status_code == 201
    assert [
        t["uid"] for t in alpha.get("/tokens", params={"customer_id": alpha_jan["id"]}).json()["items"]
    ] == ["04A2B3C4"]


def test_authorize_tells_a_charger_accepted_blocked_expired_or_invalid(api):
    alpha = api.tenant()
    plan = make_plan(alpha)
    member, blocked, expired, no_contract = (make_customer(alpha, name=n) for n in ("M", "B", "E", "N"))
    contract = make_contract(alpha, member, plan)
    for customer in (blocked, expired):
        make_contract(alpha, customer, plan)
    draft_only = make_customer(alpha, name="D")
    make_contract(alpha, draft_only, plan, activate=False)
    make_token(alpha, member, "OK-1")
    make_token(alpha, blocked, "BLOCKED-1", status="BLOCKED")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    make_token(alpha, expired, "EXPIRED-1", valid_until=yesterday)
    make_token(alpha, no_contract, "NOCONTRACT-1")
    make_token(alpha, draft_only, "DRAFT-1")

    answers = {
        uid: alpha.post("/tokens/authorize", json={"uid": uid}).json()
        for uid in ("OK-1", "BLOCKED-1", "EXPIRED-1", "NOCONTRACT-1", "DRAFT-1", "UNKNOWN")
    }

    assert answers["OK-1"] == {
        "status": "Accepted",
        "customer_id": member["id"],
        "contract_id": contract["id"],
    }
    assert answers["BLOCKED-1"]["status"] == "Blocked"
    assert answers["EXPIRED-1"]["status"] == "Expired"
    assert answers["NOCONTRACT-1"] == {
        "status": "Blocked",
        "customer_id": no_contract["id"],
        "contract_id": None,
    }
    assert answers["DRAFT-1"]["status"] == "Blocked"
    assert answers["UNKNOWN"] == {"status": "Invalid", "customer_id": None, "contract_id": None}


def test_a_fleet_drivers_token_is_accepted_under_the_business_contract(api):
    alpha = api.tenant()
    fleet = alpha.created("/customers", ACME)
    driver = make_customer(alpha, parent_id=fleet["id"])
    contract = make_contract(alpha, fleet, make_plan(alpha))
    make_token(alpha, driver, "DRIVER-1")

    answer = alpha.post("/tokens/authorize", json={"uid": "DRIVER-1"}).json()

    assert answer == {"status": "Accepted", "customer_id": driver["id"], "contract_id": contract["id"]}


# CSV imports

GOOD_CUSTOMERS = """kind,name,email,language,currency,country,address,city,postal_code,vat_id,parent_email
BUSINESS,Acme Logistics B.V.,fleet@acme.example,nl,EUR,NL,Damrak 1,Amsterdam,1012 LG,nl 0044.95.445.B01,
INDIVIDUAL,Piet Fleet,piet@acme.example,nl,EUR,NL,,,,,FLEET@acme.example
INDIVIDUAL,"Jansen, Jan",jan@example.nl,nl,EUR,NL,"Keizersgracht 1",Amsterdam,1015 CJ,,
"""


def test_a_good_customers_file_is_imported_whole_with_an_audit_entry_per_customer(api):
    alpha = api.tenant()

    response = post_csv(alpha, "/imports/customers", GOOD_CUSTOMERS)
    stored = alpha.get("/customers").json()["items"]
    audited = alpha.get("/audit-log", params={"entity_type": "customer"}).json()["items"]

    assert response.status_code == 200
    assert response.json() == {"imported": 3}
    by_email = {c["email"]: c for c in stored}
    assert by_email["fleet@acme.example"]["vat_id"] == "NL004495445B01"
    assert by_email["piet@acme.example"]["parent_id"] == by_email["fleet@acme.example"]["id"]
    assert by_email["jan@example.nl"]["name"] == "Jansen, Jan"
    assert len(audited) == 3


def test_a_customers_file_with_two_bad_rows_reports_both_and_imports_nothing(api):
    alpha = api.tenant()
    text = (
        "kind,name,email,language,currency,country,vat_id\n"
        "INDIVIDUAL,Anna,anna@example.nl,nl,EUR,NL,\n"
        "INDIVIDUAL,Bram,not-an-email,nl,EUR,NL,\n"
        "INDIVIDUAL,Cor,cor@example.nl,nl,EUR,NL,\n"
        "\n"
        "BUSINESS,Duits GmbH,info@duits.example,de,EUR,DE,DE136695977\n"
    )

    response = post_csv(alpha, "/imports/customers", text)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "2 problem(s) in the file; nothing was imported"
    assert [e["path"] for e in body["errors"]] == ["line 3.email", "line 6.vat_id"]  # the blank line counts
    assert alpha.get("/customers").json()["items"] == []


def test_a_customers_file_is_checked_against_itself_and_the_stored_customers(api):
    alpha = api.tenant()
    alpha.created("/customers", ACME)
    text = (
        "kind,name,email,language,currency,country,parent_email\n"
        "INDIVIDUAL,Anna,anna@example.nl,nl,EUR,NL,fleet@acme.example\n"
        "INDIVIDUAL,Anna again,ANNA@example.nl,nl,EUR,NL,\n"
        "INDIVIDUAL,Acme copy,fleet@acme.example,nl,EUR,NL,\n"
        "INDIVIDUAL,Bram,bram@example.nl,nl,EUR,NL,anna@example.nl\n"
        "INDIVIDUAL,Cor,cor@example.nl,nl,EUR,NL,nobody@example.nl\n"
        "PERSON,Dirk,dirk@example.nl,nl,EUR,NL,\n"
    )

    body = post_csv(alpha, "/imports/customers", text).json()

    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        ("line 3.email", "'ANNA@example.nl' is already the e-mail of line 2"),
        ("line 4.email", "a customer with e-mail 'fleet@acme.example' already exists"),
        ("line 5.parent_email", "line 2 ('anna@example.nl') is not a business account"),
        ("line 6.parent_email",
         "no business account with e-mail 'nobody@example.nl' (earlier in this file or stored)"),
        ("line 7.kind", "'PERSON' is not one of INDIVIDUAL, BUSINESS"),
    ]  # fmt: skip
    assert len(alpha.get("/customers").json()["items"]) == 1  # only the stored Acme


def test_a_file_with_unknown_or_missing_columns_is_refused_by_its_header(api):
    alpha = api.tenant()

    response = post_csv(alpha, "/imports/customers", "kind,name,email,phone\nINDIVIDUAL,Anna,a@b.nl,0612\n")

    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [
        "line 1.phone",
        "line 1.country",
        "line 1.currency",
        "line 1.language",
    ]


def test_an_import_must_be_sent_as_csv(api):
    alpha = api.tenant()

    response = alpha.post("/imports/customers", json={"kind": "INDIVIDUAL"})

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_tokens_are_imported_for_customers_found_by_e_mail(api):
    alpha = api.tenant()
    post_csv(alpha, "/imports/customers", GOOD_CUSTOMERS)
    text = (
        "uid,type,contract_id,customer_email,status,valid_until\n"
        "04A2B3C4D5E6F7,RFID,NL-EVB-C00000001-X,piet@acme.example,ACTIVE,2027-12-31T23:00:00Z\n"
        "APP-JAN,APP_USER,NL-EVB-C00000002-X,jan@example.nl,,\n"
    )

    response = post_csv(alpha, "/imports/tokens", text)
    tokens = {t["uid"]: t for t in alpha.get("/tokens").json()["items"]}

    assert response.json() == {"imported": 2}
    assert tokens["04A2B3C4D5E6F7"]["valid_until"] == "2027-12-31T23:00:00Z"
    assert tokens["APP-JAN"]["status"] == "ACTIVE"
    assert tokens["APP-JAN"]["valid_until"] is None


def test_a_tokens_file_reports_every_bad_row_and_imports_nothing(api):
    alpha = api.tenant()
    jan = make_customer(alpha, email="jan@example.nl")
    make_token(alpha, jan, "STORED-1")
    text = (
        "uid,type,contract_id,customer_email,valid_until\n"
        "NEW-1,RFID,NL-EVB-1,jan@example.nl,2027-01-01\n"
        "STORED-1,RFID,NL-EVB-2,jan@example.nl,\n"
        "NEW-2,CARD,NL-EVB-3,nobody@example.nl,\n"
        "NEW-2,RFID,NL-EVB-4,jan@example.nl,\n"
    )

    body = post_csv(alpha, "/imports/tokens", text).json()

    assert [e["path"] for e in body["errors"]] == [
        "line 2.valid_until",
        "line 3.uid",
        "line 4.type",
        "line 4.customer_email",
        "line 5.uid",
    ]
    assert [t["uid"] for t in alpha.get("/tokens").json()["items"]] == ["STORED-1"]


# The price at an EVSE


def test_the_price_is_resolved_ad_hoc_then_by_plan_then_by_contract_override(api):
    """Ad hoc: the public price; a member's AC session: the plan's AC tariff; an override wins over
    the plan; on a DC connector the plan's DC tariff."""
    alpha = api.tenant()
    ac_site, dc_site = make_site(alpha), make_site(alpha, dc=True)
    dc_connector = f"/connectors/{dc_site['connector']['id']}"
    alpha.patch(dc_connector, json={"max_electric_power": 50_000}, headers=IF_MATCH_1)  # DC, not HPC
    public = make_tariff(alpha, "PUBLIC", 0.59)
    member_ac, member_dc, special = (make_tariff(alpha, i) for i in ("MEMBER-AC", "MEMBER-DC", "SPECIAL"))
    alpha.created("/tariff-assignments", {"tariff_id": public["id"], "scope": "operator"})
    plan = make_plan(alpha, "MEMBERSHIP", tariffs={"AC": member_ac["id"], "DC": member_dc["id"]},
                     effective_from="2026-01-01T00:00:00Z")  # fmt: skip
    member, favoured = make_customer(alpha, name="Member"), make_customer(alpha, name="Favoured")
    make_contract(alpha, member, plan)
    make_contract(alpha, favoured, plan, overrides={"AC": special["id"]})
    make_token(alpha, member, "MEMBER-1")
    make_token(alpha, favoured, "FAVOURED-1")

    def price(site, uid=None):
        params = {"evse_id": site["evse"]["id"], **({"token_uid": uid} if uid else {})}
        response = alpha.get("/price", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    ad_hoc, unknown = price(ac_site), price(ac_site, "UNKNOWN-1")
    by_plan, by_override, on_dc = (
        price(ac_site, "MEMBER-1"),
        price(ac_site, "FAVOURED-1"),
        price(dc_site, "MEMBER-1"),
    )

    assert (ad_hoc["rule"], ad_hoc["tariff"]["id"], ad_hoc["authorization"]) == ("AD_HOC", public["id"], None)
    assert ad_hoc["reason"] == "public ad-hoc price: the operator's default tariff"
    assert ad_hoc["tariff"]["document"]["elements"][0]["price_components"][0]["price"] == 0.59
    assert (
        '"price":0.59' in alpha.get("/price", params={"evse_id": ac_site["evse"]["id"]}).text
    )  # exact number
    assert (unknown["rule"], unknown["authorization"]["status"]) == ("AD_HOC", "Invalid")
    assert (by_plan["rule"], by_plan["tariff"]["id"], by_plan["connector_class"]) == (
        "PLAN_TARIFF", member_ac["id"], "AC",
    )  # fmt: skip
    assert by_plan["authorization"]["status"] == "Accepted"
    assert (by_override["rule"], by_override["tariff"]["id"]) == ("CONTRACT_OVERRIDE", special["id"])
    assert (on_dc["rule"], on_dc["tariff"]["id"], on_dc["connector_class"]) == (
        "PLAN_TARIFF",
        member_dc["id"],
        "DC",
    )
    assert on_dc["tariff"]["version"] == 1


def test_the_price_at_an_unknown_evse_is_not_found(api):
    alpha = api.tenant()

    response = alpha.get("/price", params={"evse_id": "nope"})

    assert response.status_code == 404


def test_a_file_of_more_than_ten_thousand_rows_is_refused_before_anything_is_checked(api):
    alpha = api.tenant()
    rows = "".join(f"INDIVIDUAL,Driver {n},nl,EUR,NL\n" for n in range(10_001))

    response = post_csv(alpha, "/imports/customers", "kind,name,language,currency,country\n" + rows)

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "$", "message": "a file may hold at most 10000 rows; split it and import each part",
         "severity": "error"}
    ]  # fmt: skip
    assert alpha.get("/customers").json()["items"] == []


def test_a_row_with_a_wrong_number_of_values_is_reported_with_the_other_bad_rows(api):
    alpha = api.tenant()
    text = (
        "kind,name,language,currency,country\n"
        "INDIVIDUAL,Anna,nl,EUR,NL,surplus\n"
        "INDIVIDUAL,,nl,EUR,NL\n"
        'INDIVIDUAL,"Bram\nBakker",nl,EUR,XX\n'  # a quoted name over two lines: the row starts on line 4
        "INDIVIDUAL,Cor,nl,EUR,NL\n"
    )

    body = post_csv(alpha, "/imports/customers", text).json()

    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        ("line 2.row", "has 6 values; the header names 5 columns"),
        ("line 3.name", "must not be blank"),
        ("line 4.country", "'XX' is not an ISO 3166-1 alpha-2 code"),
    ]
    assert alpha.get("/customers").json()["items"] == []
