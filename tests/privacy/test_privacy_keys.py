import json
import stat

import pytest

from xrec.config import DEFAULT_EXPORT_KEYS_FILE, PROJECT_ROOT, Settings
from xrec.privacy import keys
from xrec.privacy.keys import MissingExportKey, key_for, load_keys, new_keys, write_keys_file


def _settings(path) -> Settings:
    return Settings.from_env({"XREC_EXPORT_KEYS_FILE": str(path), "XREC_PARTNERS": "realty,finance"})


def test_keys_file_is_owner_only_and_rotation_changes_the_key_id(tmp_path):
    path = tmp_path / "keys.json"
    write_keys_file(path, new_keys(["realty", "finance"]))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = load_keys(_settings(path))["realty"]
    assert "secret" not in repr(first) and first.secret.hex() not in repr(first)

    document = json.loads(path.read_text())
    document["partners"]["realty"]["keys"]["realty-2"] = "ab" * 32
    document["partners"]["realty"]["active"] = "realty-2"
    write_keys_file(path, document)
    rotated = load_keys(_settings(path))["realty"]
    assert rotated.key_id == "realty-2" and rotated.pseudonym("x") != first.pseudonym("x")


def test_a_missing_partner_key_names_the_partner_and_the_variable(tmp_path):
    path = tmp_path / "keys.json"
    write_keys_file(path, new_keys(["realty"]))
    settings = _settings(path)
    loaded = load_keys(settings)
    with pytest.raises(MissingExportKey, match=r"'finance'.*XREC_EXPORT_KEYS_FILE"):
        key_for(settings, loaded, "finance")


def test_a_configured_path_that_does_not_exist_is_an_error_not_new_keys(tmp_path):
    with pytest.raises(MissingExportKey, match="XREC_EXPORT_KEYS_FILE"):
        load_keys(_settings(tmp_path / "absent.json"))
    assert not (tmp_path / "absent.json").exists()


def test_the_default_file_is_created_with_random_keys_on_first_use(tmp_path, monkeypatch, caplog):
    default = tmp_path / DEFAULT_EXPORT_KEYS_FILE
    monkeypatch.setattr(keys, "PROJECT_ROOT", tmp_path)
    loaded = load_keys(_settings(default))
    assert set(loaded) == {"realty", "finance"} and stat.S_IMODE(default.stat().st_mode) == 0o600
    assert loaded["realty"].secret != loaded["finance"].secret
    assert "created" in caplog.text
    assert load_keys(_settings(default))["realty"] == loaded["realty"]  # kept, not re-created
    assert PROJECT_ROOT / DEFAULT_EXPORT_KEYS_FILE != default
