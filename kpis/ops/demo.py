"""The demo company (Northwind Analytics): load its exports, tell demo data from real data, remove it again.

The demo files in ``sample_data/`` are real-format exports (Stripe, PostHog, an account mapping, targets) written by
``sample_data/generate.py`` (the PostHog export gzipped, as people upload it, to keep the repository small; the
importer unpacks gzip by content); they go through the same importer as any upload, recorded with
``imported_by = 'demo'`` so that they can be told apart from a person's imports and undone exactly. Removing the
demo backs the database up first (:func:`kpis.store.backup.auto_backup`), like every undo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kpis.ingest.importer import ImportResult, import_file, undo
from kpis.store import settings
from kpis.store.backup import auto_backup
from kpis.store.db import Store

DEMO_DIR = Path(__file__).resolve().parents[2] / "sample_data"
#: the demo exports, in import order: customers, subscriptions, events, the mapping of the product's accounts to
#: billing customers (the link is made when a KPI is computed, so its place in the order changes no number), targets
DEMO_FILES: tuple[str, ...] = (
    "stripe_customers.csv",
    "stripe_subscriptions.csv",
    "posthog_events.csv.gz",
    "account_mapping.csv",
    "targets.csv",
)
#: the ``imported_by`` of every demo import
DEMO_WHO = "demo"
#: Settings the demo's exports may declare beside them (a JSON object in this file, written by the generator):
#: the activation event its users' story is built around, and its window.
DEMO_SETTINGS = "settings.json"
DECLARABLE = (settings.ACTIVATION_EVENT, settings.ACTIVATION_WINDOW)
#: Setting that records that the demo company was offered once; it is never loaded again after that.
DEMO_OFFERED = "demo_offered"


def load_demo(store: Store, directory: Path = DEMO_DIR) -> list[ImportResult]:
    """Import every demo file, in :data:`DEMO_FILES` order, as ``imported_by = 'demo'``.

    Loading twice changes nothing (the second time every file is a duplicate). If one file fails, the demo
    imports this call made are undone before the error is raised, so the demo is either all in or not at all.
    """
    results: list[ImportResult] = []
    try:
        for name in DEMO_FILES:
            results.append(import_file(store, directory / name, who=DEMO_WHO))
    except BaseException:
        for result in reversed(results):
            if result.status == "ok" and result.import_id is not None:
                undo(store, result.import_id, backup=False)  # our own half-made load: nothing to keep
        raise
    for key, value in declared_settings(directory).items():
        if not store.get_setting(key):  # a setting of the database's own is never replaced
            settings.set_from_text(store, key, value, ())
    return results


def declared_settings(directory: Path = DEMO_DIR) -> dict[str, str]:
    """The settings the demo declares in :data:`DEMO_SETTINGS` (only those of :data:`DECLARABLE`), as text;
    none when the file is absent."""
    path = directory / DEMO_SETTINGS
    if not path.is_file():
        return {}
    found = json.loads(path.read_text(encoding="utf-8"))
    return {key: str(found[key]) for key in DECLARABLE if key in found}


def _forget_declared_settings(store: Store, directory: Path) -> None:
    """Unset the demo's declared settings that still hold its values (the activation event of its story names
    none of your events)."""
    for key, value in declared_settings(directory).items():
        if (store.get_setting(key) or "").strip() == value.strip():
            store.set_setting(key, "")


def offer_demo(store: Store) -> list[ImportResult]:
    """Load the demo company into an empty database the first time it is offered, and never again (not after
    its removal, nor into a database that already held data, which is recorded as offered); the imports made,
    or an empty list when it was not loaded. A load that fails is not recorded, so the next start tries again."""
    if store.get_setting(DEMO_OFFERED) is not None:
        return []
    if not store.is_empty():
        store.set_setting(DEMO_OFFERED, "no: the database already held data")
        return []
    results = load_demo(store)
    store.set_setting(DEMO_OFFERED, datetime.now(UTC).isoformat(timespec="seconds"))
    return results


def _live_demo_imports(store: Store) -> list[int]:
    rows = store.query("SELECT import_id FROM imports WHERE imported_by = ? AND status = 'ok' "
                       "ORDER BY import_id DESC", [DEMO_WHO])
    return [int(row[0]) for row in rows]


def has_demo(store: Store) -> bool:
    """True when some demo import is live (imported and not undone)."""
    return bool(_live_demo_imports(store))


@dataclass(frozen=True)
class DemoRemoval:
    """What removing the demo did: one message per undone import, and the backup made before (None: no demo)."""

    messages: tuple[str, ...]
    backup: Path | None

    def summary(self) -> str:
        """One line for the CLI and the UI, naming the backup."""
        if not self.messages:
            return "there is no demo company to remove"
        text = f"the demo company was removed ({len(self.messages)} imports undone)"
        if self.backup is not None:
            text += f"; the database before the removal is saved as {self.backup}"
        return text


def remove_demo_with_backup(store: Store, directory: Path = DEMO_DIR) -> DemoRemoval:
    """Back the database up once, then undo every live demo import, newest first, and unset the settings the demo
    declared that still hold its values."""
    with store.exclusive():
        live = _live_demo_imports(store)
        if not live:
            return DemoRemoval((), None)
        saved = auto_backup(store, "remove-demo")
        messages = tuple(undo(store, import_id, backup=False).message for import_id in live)
        _forget_declared_settings(store, directory)
        return DemoRemoval(messages, saved)


#: The sources a page can show, as ``(kind in the import log, words)``, in the order the banner names them.
SOURCES: tuple[tuple[str, str], ...] = (("subscriptions", "revenue"), ("events", "product events"),
                                        ("targets", "targets"))
DEMO_ONLY, YOURS_ONLY, BOTH = "demo only", "yours only", "both"


def whose(store: Store) -> dict[str, str]:
    """Whose data each source holds (:data:`SOURCES`): ``demo only``, ``yours only`` or ``both`` (added
    together, since the KPIs sum every current row); sources without a live import are left out."""
    shown = {}
    for kind, _ in SOURCES:
        rows = store.query("SELECT DISTINCT imported_by IS NOT DISTINCT FROM ? FROM imports WHERE status = 'ok' "
                           "AND list_contains(string_split(kinds, ','), ?)", [DEMO_WHO, kind])
        found = {bool(r[0]) for r in rows}
        if found:
            shown[kind] = BOTH if len(found) == 2 else DEMO_ONLY if True in found else YOURS_ONLY
    return shown


#: How the banner names whose data a source holds.
OWNERS = {DEMO_ONLY: "the demo company's only", YOURS_ONLY: "yours only",
          BOTH: "yours and the demo company's added together"}


def _owner(kind: str, state: str) -> str:
    """Targets are not summed: both sets are in force, each for its own KPIs and periods."""
    return "yours and the demo company's" if kind == "targets" and state == BOTH else OWNERS[state]


def shown_text(shown: dict[str, str]) -> str | None:
    """What every page says while the demo company is loaded: whose data its numbers are, source by source;
    None when no source holds demo data (:func:`whose`).

    >>> shown_text({"subscriptions": "yours only", "events": "demo only"})[:64]
    "Showing your data and the demo company's together: revenue is yo"
    """
    if not any(state in (DEMO_ONLY, BOTH) for state in shown.values()):
        return None
    if all(state == DEMO_ONLY for state in shown.values()):
        return ("Showing the demo company, a made-up business, so you can explore the dashboard. Import your own "
                "exports, then remove it on the Data page.")
    parts = [f"{words} {'is' if words == 'revenue' else 'are'} {_owner(kind, shown[kind])}"
             for kind, words in SOURCES if kind in shown]
    return ("Showing your data and the demo company's together: " + "; ".join(parts)
            + ". Remove the demo company on the Data page (you are asked to confirm) so that every number is yours.")


def has_real_data(store: Store) -> bool:
    """True when some live import was made by a person (anything but the demo)."""
    rows = store.query("SELECT 1 FROM imports WHERE status = 'ok' AND imported_by IS DISTINCT FROM ? LIMIT 1",
                       [DEMO_WHO])
    return bool(rows)
