"""Data Docs of one gate call, at a cost that does not grow with the stored history.

GX's site builder renders the resources it is given, but each of its sections lists its whole
source store to find them, and its index lists every stored validation result (to drop pages
without one) and every page, then reads each result it shows: at 5,100 stored results and 7,400
pages that was 14.9 s of a raw gate's Data Docs. Here a section lists only the keys it is given,
and the index shows the suites of the suites store and the newest ``limit`` results: those of the
last index (kept in ``INDEX_LISTING`` beside it) and of this call. Pages of older results stay,
unlisted.

Imported by GX by module name (the site's ``module_name``), after ``xrec.quality.validation``
has imported GX.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.data_context.util import instantiate_class_from_config
from great_expectations.render.renderer.site_builder import DefaultSiteIndexBuilder, DefaultSiteSectionBuilder

_SECTION_KEYS = {"expectations": ExpectationSuiteIdentifier, "validations": ValidationResultIdentifier}


INDEX_LISTING = "index_results.json"


def build(context: Any, site_name: str, docs_dir: Path, keys: Sequence[Any], limit: int) -> None:
    """Render the pages of ``keys`` (suites and validation results) into ``docs_dir``, and an
    index of the newest ``limit`` results (at least ``keys``' results)."""
    results = [k for k in keys if isinstance(k, ValidationResultIdentifier)]
    section = {"class_name": "GivenKeysSectionBuilder", "module_name": __name__}
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {
            "class_name": "ListedIndexBuilder",
            "module_name": __name__,
            # GX applies it to the results a section renders too
            "validation_results_limit": max(limit, len(results)),
        },
        "site_section_builders": {
            "expectations": section,
            "validations": section,
            # pages of profiler runs, which xrec has none of
            "profiling": "None",
        },
    }
    builder = instantiate_class_from_config(
        config=site,
        runtime_environment={"data_context": context, "root_directory": context.root_directory, "site_name": site_name},
        config_defaults={"module_name": "great_expectations.render.renderer.site_builder"},
    )
    builder.site_index_builder.add(docs_dir / INDEX_LISTING, results)
    builder.build(resource_identifiers=list(keys))


class _GivenKeys:
    """A store whose listing is the given keys (everything else is the store's)."""

    def __init__(self, store: Any, keys: list[Any]) -> None:
        self._store = store
        self._keys = keys

    def list_keys(self) -> list[Any]:
        return self._keys

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class GivenKeysSectionBuilder(DefaultSiteSectionBuilder):
    """Renders the given resources of its section without listing its source store."""

    def build(self, resource_identifiers: Sequence[Any] | None = None) -> None:
        if resource_identifiers is None:  # a full rebuild: every stored resource
            return super().build(resource_identifiers)
        store = self.source_store
        self.source_store = _GivenKeys(
            store, [k for k in resource_identifiers if isinstance(k, _SECTION_KEYS[self.name])]
        )
        try:
            return super().build(resource_identifiers)
        finally:
            self.source_store = store


class ListedIndexBuilder(DefaultSiteIndexBuilder):
    """The index of the newest results: the last index's (from ``listing``) and the new ones.

    Without a listing (a site built before it) the pages are listed once.
    """

    _listing: Path
    _new: Sequence[ValidationResultIdentifier] = ()

    def add(self, listing: Path, results: Sequence[ValidationResultIdentifier]) -> None:
        """List ``results`` in the index whose last listing is the file ``listing``."""
        self._listing = listing
        self._new = results

    def _build_validation_and_profiling_result_site_keys(self, skip_and_clean_missing: bool) -> list[Any]:
        if self._listing.exists():
            listed = [ValidationResultIdentifier.from_tuple(k) for k in json.loads(self._listing.read_text())]
        else:
            pages = self.target_store.store_backends[ValidationResultIdentifier].list_keys()
            listed = [ValidationResultIdentifier.from_tuple(page) for page in pages]
        newest = sorted({*listed, *self._new}, key=lambda k: k.run_id.run_time, reverse=True)
        newest = newest[: self.validation_results_limit]
        self._listing.write_text(json.dumps([k.to_tuple() for k in newest]))
        return newest

    def _add_expectations_to_index_links(self, index_links_dict: Any, skip_and_clean_missing: bool) -> None:
        # Every stored suite has its page (a gate stores and renders it), so the suites store
        # lists them, not a walk of the site (whose pages are mostly validation results).
        for key in self.data_context.expectations_store.list_keys():
            suite = cast(ExpectationSuiteIdentifier, key)
            self.add_resource_info_to_index_links_dict(
                index_links_dict=index_links_dict, expectation_suite_name=suite.name, section_name="expectations"
            )
