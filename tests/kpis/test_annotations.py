"""Annotations: add, list, remove, validation, values stored verbatim through parameters, the CLI commands."""

from __future__ import annotations

import argparse
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.cli import annotations as annotate_cli
from kpis.core.errors import InputError
from kpis.plan import annotations

DROP = "'; DROP TABLE annotations; --"


def _cli(store, capsys, *argv: str) -> tuple[int, str]:
    """Run one ``annotate`` command through the registered parser; returns (exit code, stdout)."""
    parser = argparse.ArgumentParser(prog="python -m kpis")
    annotate_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.run(store, args)
    return code, capsys.readouterr().out


def test_add_list_between_remove(store):
    first = annotations.add(store, date(2026, 11, 16), "  Launched AI Insights\n", who="ana")
    second = annotations.add(store, date(2026, 11, 10), "Price change")
    third = annotations.add(store, date(2026, 11, 23), "Outage")
    assert (first, second, third) == (1, 2, 3)

    everything = annotations.all_annotations(store)
    assert list(everything.columns) == ["annotation_id", "day", "text", "created_by"]
    assert everything.to_dict("records") == [  # by day, then id; text stripped
        {"annotation_id": 2, "day": date(2026, 11, 10), "text": "Price change", "created_by": "local"},
        {"annotation_id": 1, "day": date(2026, 11, 16), "text": "Launched AI Insights", "created_by": "ana"},
        {"annotation_id": 3, "day": date(2026, 11, 23), "text": "Outage", "created_by": "local"},
    ]
    # both ends included
    assert list(annotations.between(store, date(2026, 11, 10), date(2026, 11, 16))["annotation_id"]) == [2, 1]
    assert annotations.between(store, date(2026, 11, 17), date(2026, 11, 22)).empty

    assert annotations.remove(store, 1) == "removed annotation 1 (2026-11-16: Launched AI Insights)"
    assert list(annotations.all_annotations(store)["annotation_id"]) == [2, 3]
    assert annotations.add(store, date(2026, 11, 16), "Again") == 4  # ids are never reused


def test_created_at_is_recorded(store):
    annotations.add(store, date(2026, 11, 16), "x")
    assert store.query("SELECT created_at IS NOT NULL FROM annotations") == [(True,)]


@pytest.mark.parametrize(("text", "message"), [
    ("", "an annotation needs a text, such as 'Launched AI Insights'"),
    (" \t\n ", "an annotation needs a text, such as 'Launched AI Insights'"),
    ("x" * 501, "an annotation's text has at most 500 characters, this one has 501"),
    (None, "an annotation's text must be text"),
])
def test_bad_text_is_refused_and_nothing_is_stored(store, text, message):
    with pytest.raises(InputError) as info:
        annotations.add(store, date(2026, 11, 16), text)
    assert str(info.value) == message
    assert annotations.all_annotations(store).empty


def test_the_longest_text_fits_after_stripping(store):
    annotations.add(store, date(2026, 11, 16), "  " + "y" * 500 + "  ")
    assert annotations.all_annotations(store)["text"].iloc[0] == "y" * 500


def test_bad_day_is_refused(store):
    with pytest.raises(InputError, match="expected a date such as 2026-11-16, got '16/11/2026'"):
        annotations.add(store, "16/11/2026", "x")  # type: ignore[arg-type]
    assert annotations.add(store, "2026-11-16", "iso text is fine") == 1  # type: ignore[arg-type]


def test_values_are_parameters_and_stored_verbatim(store):
    texts = [DROP, 'He said "it\'s done"', "50% off; 100\\% sure", "<script>alert(1)</script>", "Grüße 🚀"]
    ids = [annotations.add(store, date(2026, 11, 16), t, who=DROP) for t in texts]
    stored = annotations.all_annotations(store)
    assert list(stored["text"]) == texts
    assert list(stored["created_by"]) == [DROP] * len(texts)
    assert store.query("SELECT count(*) FROM annotations") == [(len(texts),)]  # the table is still there
    assert annotations.remove(store, ids[0]) == f"removed annotation {ids[0]} (2026-11-16: {DROP})"


def test_removing_an_unknown_id_is_an_input_error(store):
    with pytest.raises(InputError, match="no annotation 42: see 'annotate list' for the ids"):
        annotations.remove(store, 42)
    with pytest.raises(InputError, match="an annotation id is a whole number, got 'x'"):
        annotations.remove(store, "x")  # type: ignore[arg-type]


def test_cli_add_list_remove(store, capsys):
    assert _cli(store, capsys, "annotate", "add", "2026-11-16", "Launched", "AI", "Insights") == (
        0, "added annotation 1 on 2026-11-16\n")
    assert _cli(store, capsys, "annotate", "add", "2026-11-18", 'Pricing "v2", annual -10%') == (
        0, "added annotation 2 on 2026-11-18\n")
    assert _cli(store, capsys, "annotate", "list") == (
        0, 'id,day,text\n1,2026-11-16,Launched AI Insights\n2,2026-11-18,"Pricing ""v2"", annual -10%"\n')
    assert _cli(store, capsys, "annotate", "list", "--start", "2026-11-17") == (
        0, 'id,day,text\n2,2026-11-18,"Pricing ""v2"", annual -10%"\n')
    assert _cli(store, capsys, "annotate", "remove", "1") == (
        0, "removed annotation 1 (2026-11-16: Launched AI Insights)\n")
    assert annotations.all_annotations(store)["created_by"].tolist() == ["cli"]


def test_cli_rejects_a_bad_date_before_running(store, capsys):
    with pytest.raises(SystemExit) as info:
        _cli(store, capsys, "annotate", "add", "yesterday", "x")
    assert info.value.code == 2
    assert "expected a date such as 2026-01-05, got 'yesterday'" in capsys.readouterr().err


def test_annotate_list_quotes_formulas_and_carriage_returns(store, capsys):
    annotations.add(store, date(2026, 11, 16), "=HYPERLINK(1)")
    annotations.add(store, date(2026, 11, 17), "launch\r=1+1")
    code, out = _cli(store, capsys, "annotate", "list")
    assert code == 0
    # the CR stays inside a quoted cell: no row can begin with a live formula
    assert out == "id,day,text\n1,2026-11-16,'=HYPERLINK(1)\n2,2026-11-17,\"launch\r=1+1\"\n"


def test_the_data_version_changes_with_every_note_added_or_removed(store):
    before = store.data_version()
    first = annotations.add(store, date(2026, 11, 16), "Launched AI Insights")
    one = store.data_version()
    second = annotations.add(store, date(2026, 11, 10), "Price change")
    two = store.data_version()
    annotations.remove(store, first)
    three = store.data_version()
    annotations.remove(store, second)
    assert len({before, one, two, three}) == 4, "a cache keyed on the version sees every note at once"
    assert store.data_version() == before == (0, 0, 0, 0, 0), "no import, no note: as at the start"
    annotations.add(store, date(2026, 11, 10), "Outage")
    assert store.data_version() == (0, 0, 3, 1, 0), "the third note ever, alone"
    with pytest.raises(InputError):
        annotations.add(store, date(2026, 11, 10), "")  # refused: nothing stored, the version stays
    assert store.data_version() == (0, 0, 3, 1, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=12))
def test_one_data_version_means_one_set_of_notes(store, steps):
    """``None`` adds a note, ``i`` removes the i-th note still there (if any): whatever the order, two states with
    the same data version hold the same notes, so a cache keyed on it is never stale."""
    seen: dict[tuple[int, ...], frozenset[int]] = {}
    for step in steps:
        alive = sorted(int(i) for i in annotations.all_annotations(store)["annotation_id"])
        if step is None:
            annotations.add(store, date(2026, 11, 16), "note")
        elif step < len(alive):
            annotations.remove(store, alive[step])
        now = frozenset(int(i) for i in annotations.all_annotations(store)["annotation_id"])
        assert seen.setdefault(store.data_version(), now) == now
