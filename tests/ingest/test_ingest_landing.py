"""drop_is_complete: the wait step's check for one exact date."""

from __future__ import annotations

from conftest import D1, D2, write_drop

from xrec.ingest.landing import drop_is_complete


def test_drop_is_complete_only_with_success_marker_for_that_date(settings):
    assert not drop_is_complete(settings, "platform", D1)
    write_drop(settings, "platform", D1, {"users.csv": "user_id\n"}, complete=False)
    assert not drop_is_complete(settings, "platform", D1)
    write_drop(settings, "platform", D2, {})
    assert drop_is_complete(settings, "platform", D2)
    assert not drop_is_complete(settings, "platform", D1)
    assert not drop_is_complete(settings, "realty", D2)
