"""``evbill demo``: price the bundled sample sessions and show how each price came about.

The demo tariff is a time-of-use tariff in Amsterdam with a start fee, evening peak and night
prices, and an idle fee by day; the three sessions cross a price boundary, park overnight, and fast
charge at lunchtime. The files are printed at the end so they can be fed to ``evbill rate``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import orjson
import typer

from evbill.bootstrap import Container
from evbill.entrypoints.cli.rate import load_zone

DEMO_ZONE = "Europe/Amsterdam"


def demo_files() -> tuple[Path, Path]:
    folder = Path(str(resources.files("evbill") / "demo"))
    return folder / "tariff_time_of_use.json", folder / "cdrs.jsonl"


def register(app: typer.Typer, container: Container) -> None:
    @app.command()
    def demo() -> None:
        """Price three sample sessions under a time-of-use tariff and explain every line."""
        from rich.console import Console
        from rich.table import Table

        from evbill.application.rating.cdrs import CdrPricer
        from evbill.domain.money import PreciseMoney, settle

        tariff_path, cdrs_path = demo_files()
        console = Console()
        rounding = container.settings.rounding_mode
        pricer = CdrPricer.for_tariff(
            codec=container.ocpi,
            tariff_document=orjson.loads(tariff_path.read_bytes()),
            zone=load_zone(DEMO_ZONE),
            rounding=rounding,
        )
        table = Table(title=f"Priced sessions (each total rounded once, {rounding.value.replace('_', ' ')})")
        for column in ("CDR", "energy kWh", "hours", "excl. VAT", "incl. VAT"):
            table.add_column(column, justify="right" if column != "CDR" else "left")
        for line in cdrs_path.read_bytes().splitlines():
            document = orjson.loads(line)
            priced = pricer.price(document, explain_price=True)
            assert priced.explanation is not None
            console.rule(f"CDR {document['id']}")
            console.print(priced.explanation.as_text(), highlight=False)
            total = priced.rated.total_cost
            table.add_row(
                document["id"],
                str(priced.document["total_energy"]),
                str(priced.document["total_time"]),
                str(settle(PreciseMoney(total.excl_vat, "EUR"), rounding)),
                str(settle(PreciseMoney(total.incl_vat, "EUR"), rounding)),
            )
        console.print(table)
        console.print(
            "Try it yourself:\n"
            f"  evbill tariff check {tariff_path}\n"
            f"  evbill rate --tariff {tariff_path} --cdrs {cdrs_path} --tz {DEMO_ZONE}\n"
            f"  evbill rate --tariff {tariff_path} --cdr {tariff_path.parent / 'cdr_evening.json'} "
            f"--tz {DEMO_ZONE} --explain",
            highlight=False,
        )
