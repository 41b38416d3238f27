"""The published lists, held in memory for lookups.

A lookup is a hash probe (`Index.get_loc`, ~1.5 us at 1M keys) into one object Index of
'<direction>|<partner>|<recipient_id>' and a slice of compact column arrays sorted by that key and
rank: item rows (int32), scores (float32), control flags; plus the answer itself: the list's
`recommendations` JSON, built once when the bundle is loaded from the reasons the daily scoring
rendered (the bundle carries `reason` and `reason_items`), LZ4-compressed per list. Re-rendering
reasons per lookup cost ~1.8 ms of CPU (the explainer's sparse and object-array set-up on ten
rows), over the 2 ms a lookup may take at 500 requests/s on one core. Uncompressed, M's 9.2M rows
of ~600 bytes of JSON would hold ~5.5 GB; LZ4 (Arrow's codec) keeps ~1/6 of that and inflates a
~5 kB list in a few us; zlib keeps ~1/8 but compresses ~10x and inflates ~5x slower (measured on
the test bundle), which a load of M's ~920k lists would feel. A list whose reason text cannot be
split back into its Chinese and English halves (an even number of separators ' | ', which the
explainer never writes) has no payload and is rendered per request.
The alternative, a query per request against the read-only snapshot or the Parquet copy, costs
a DuckDB query plus a row-group scan per lookup (measured in the README, Serving API).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xrec.catalog import CONTROL, MODEL, PLATFORM_TO_PARTNER
from xrec.config import PLATFORM

# What the serving bundle copies of cross_recommendations (xrec.publish.serving).
KEY_COLUMNS = ("direction", "partner", "recipient_id", "item_id", "rank", "score", "variant")
REASON_COLUMNS = ("reason", "reason_items")
COLUMNS = KEY_COLUMNS + REASON_COLUMNS
REASON_SEPARATOR = " | "  # ml.explain.Reasons.text joins the two languages with it
CODEC = pa.Codec("lz4")
ROWS_PER_BATCH = 200_000  # rows of reason text converted at a time (bounds the memory of a load)


@dataclass(frozen=True)
class Published:
    """One recipient's published list (best first)."""

    item_rows: np.ndarray
    scores: np.ndarray
    variant: str


@dataclass(frozen=True)
class PublishedLists:
    keys: pd.Index  # unique '<direction>|<partner>|<recipient_id>', in row order
    starts: np.ndarray  # first row of each key; starts[i + 1] ends it
    item_rows: np.ndarray  # int32 item row of the model's item space
    scores: np.ndarray  # float32
    control: np.ndarray  # bool per key
    payloads: list[bytes | None]  # per key: LZ4 of its rows' JSON objects, each followed by ','
    ends: np.ndarray  # int32 per row: end of the row's object in its list's inflated payload

    @classmethod
    def read(cls, path: Path, item_index: pd.Index, titles: np.ndarray) -> PublishedLists:
        """The bundle's lists (each key's rows together and in rank order, as xrec.publish.serving
        writes them); `titles` per item row of `item_index`, as the API names items."""
        frame = pd.read_parquet(path, columns=list(KEY_COLUMNS))
        key = (frame["direction"] + "|" + frame["partner"] + "|" + frame["recipient_id"].astype(str)).to_numpy(object)
        boundary = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
        keys = pd.Index(key[boundary], dtype=object)
        within = np.ones(len(key), bool)
        within[boundary] = False
        if not keys.is_unique or not (np.diff(frame["rank"].to_numpy(), prepend=0)[within] > 0).all():
            raise ValueError(f"{path}: the published lists are not grouped by key in rank order")
        source = np.where(frame["direction"] == PLATFORM_TO_PARTNER, frame["partner"], PLATFORM).astype(object)
        item_rows = item_index.get_indexer(pd.Series(source, dtype=object) + ":" + frame["item_id"].astype(str))
        if (item_rows < 0).any():
            raise ValueError(f"{path}: {int((item_rows < 0).sum())} published items are not in the model's catalogue")
        starts = np.r_[boundary, len(key)]
        variant = frame["variant"].to_numpy(object)
        rows = {
            "source": source,
            "item_id": frame["item_id"].astype(str).to_numpy(object),
            "item_row": item_rows,
            "score": frame["score"].to_numpy(np.float64),
            "variant": variant,
            "rank": np.arange(len(key)) - np.repeat(boundary, np.diff(starts)) + 1,
        }
        payloads, ends = _payloads(path, rows, starts, titles)
        return cls(
            keys=keys,
            starts=starts,
            item_rows=item_rows.astype(np.int32),
            scores=rows["score"].astype(np.float32),
            control=(variant == CONTROL)[boundary],
            payloads=payloads,
            ends=ends,
        )

    def lookup(self, direction: str, partner: str, recipient_id: str, k: int) -> Published | None:
        """The first k rows of a recipient's published list, or None when there is none."""
        position = self.position(direction, partner, recipient_id)
        if position < 0:
            return None
        start = self.starts[position]
        stop = min(self.starts[position + 1], start + k)
        return Published(
            self.item_rows[start:stop], self.scores[start:stop], CONTROL if self.control[position] else MODEL
        )

    def recommendations_json(self, direction: str, partner: str, recipient_id: str, k: int) -> bytes | None:
        """The `recommendations` JSON array of the first k rows of a recipient's list, as
        published; None when there is no list or its payload could not be built (render it)."""
        position = self.position(direction, partner, recipient_id)
        if position < 0 or self.payloads[position] is None:
            return None
        start, stop = self.starts[position], self.starts[position + 1]
        rows = CODEC.decompress(self.payloads[position], int(self.ends[stop - 1]), asbytes=True)
        return b"[" + rows[: self.ends[min(stop, start + k) - 1] - 1] + b"]"

    def position(self, direction: str, partner: str, recipient_id: str) -> int:
        try:
            return self.keys.get_loc(f"{direction}|{partner}|{recipient_id}")
        except KeyError:
            return -1

    def __len__(self) -> int:
        return len(self.keys)


def _payloads(
    path: Path, rows: dict[str, np.ndarray], starts: np.ndarray, titles: np.ndarray
) -> tuple[list[bytes | None], np.ndarray]:
    """Per list, its rows' JSON objects (each followed by ','), LZ4-compressed; per row, the end
    of its object in its list's JSON. Reads the reason columns a batch at a time; the rows of a
    list a batch cuts are kept for the next one."""
    payloads: list[bytes | None] = []
    ends = np.zeros(int(starts[-1]), np.int32)
    pending: list[pa.RecordBatch] = []
    first_list, read = 0, 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROWS_PER_BATCH, columns=list(REASON_COLUMNS)):
        pending.append(batch)
        read += batch.num_rows
        done = int(np.searchsorted(starts, read, side="right")) - 1  # lists [first_list, done) are complete
        if done <= first_list:
            continue
        first_row, last_row = int(starts[first_list]), int(starts[done])
        reasons = pa.Table.from_batches(pending)
        chunk = slice(first_row, last_row)
        json_rows = _json_rows(
            reasons.slice(0, last_row - first_row), {name: values[chunk] for name, values in rows.items()}, titles
        )
        _, offset_buffer, data_buffer = json_rows.buffers()
        offsets = np.frombuffer(offset_buffer, np.int32)[json_rows.offset : json_rows.offset + len(json_rows) + 1]
        data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
        list_starts = starts[first_list : done + 1] - first_row
        counts = np.diff(list_starts)
        ends[chunk] = offsets[1:] - np.repeat(offsets[list_starts[:-1]], counts)
        ok = np.logical_and.reduceat(_splittable(reasons.slice(0, last_row - first_row)), list_starts[:-1])
        payloads.extend(
            CODEC.compress(data[offsets[a] : offsets[b]], asbytes=True) if good else None
            for a, b, good in zip(list_starts[:-1], list_starts[1:], ok)
        )
        pending = [reasons.slice(last_row - first_row).combine_chunks().to_batches()[0]] if read > last_row else []
        first_list = done
    return payloads, ends


def _pieces(reasons: pa.Table) -> pa.ListArray:
    """Per row, its reason split at every separator."""
    return _flat_list(pc.split_pattern(pc.fill_null(reasons["reason"], ""), REASON_SEPARATOR))


def _splittable(reasons: pa.Table) -> np.ndarray:
    """Per row: its reason splits into zh and en. The explainer names the same titles, topics and
    places in both languages, so a title holding the separator (the generator's bilingual titles
    do: 87% of S's rows) adds it to each half alike: an odd count splits at the middle one."""
    pieces = pc.list_value_length(_pieces(reasons)).to_numpy(zero_copy_only=False)
    return (pieces % 2 == 0) & pc.is_valid(reasons["reason_items"]).to_numpy(zero_copy_only=False)


def _halves(reasons: pa.Table) -> tuple[pa.StringArray, pa.StringArray]:
    """(zh, en) per row: the pieces before and after the middle separator, joined again (rows
    `_splittable` rejects get whatever comes out; their lists are rendered per request)."""
    pieces = _pieces(reasons)
    offsets = pieces.offsets.to_numpy() - pieces.offsets[0].as_py()
    middle = offsets[:-1] + np.diff(offsets) // 2
    # Lists 2i and 2i + 1 are the zh and the en pieces of row i.
    both = pa.ListArray.from_arrays(
        pa.array(np.r_[np.column_stack([offsets[:-1], middle]).ravel(), offsets[-1:]], pa.int32()),
        pieces.flatten().cast(pa.string()),
    )
    joined = pc.binary_join(both, REASON_SEPARATOR)
    return joined.take(np.arange(0, len(joined), 2)), joined.take(np.arange(1, len(joined), 2))


def _json_rows(reasons: pa.Table, rows: dict[str, np.ndarray], titles: np.ndarray) -> pa.StringArray:
    """One JSON object per row, as app._answer writes a recommendation, each followed by ','."""
    splittable = pa.array(_splittable(reasons))
    zh, en = _halves(reasons)
    items = _flat(pc.if_else(splittable, reasons["reason_items"], "[]"))
    parts = [
        '{"rank":',
        pa.array(rows["rank"]).cast(pa.string()),
        ',"source":',
        _quoted(rows["source"]),
        ',"item_id":',
        _quoted(rows["item_id"]),
        ',"title":',
        _quoted(titles[rows["item_row"]]),
        ',"score":',
        pa.array(rows["score"]).cast(pa.string()),
        ',"variant":',
        _quoted(rows["variant"]),
        ',"reason":{"zh":',
        _quoted(zh),
        ',"en":',
        _quoted(en),
        ',"items":',
        items,
        "}},",
    ]
    return _flat(pc.binary_join_element_wise(*parts, ""))


def _flat_list(values) -> pa.ListArray:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _flat(values) -> pa.StringArray:
    return (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).cast(pa.string())


def _quoted(values) -> pa.StringArray:
    """JSON strings: quotes around the text, escaped where needed (found with numpy on the bytes:
    Arrow's per-string search kernels cost ~3 us a string)."""
    values = _flat(pa.array(values, pa.string()) if isinstance(values, np.ndarray) else values)
    quoted = pc.binary_join_element_wise('"', values, '"', "")
    _, offset_buffer, data_buffer = values.buffers()
    if data_buffer is None or len(values) == 0:
        return quoted
    offsets = np.frombuffer(offset_buffer, np.int32)[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(data_buffer, np.uint8)[offsets[0] : offsets[-1]]
    hits = np.flatnonzero((data < 0x20) | (data == ord('"')) | (data == ord("\\"))) + offsets[0]
    escape = np.unique(np.searchsorted(offsets, hits, side="right") - 1)
    if len(escape) == 0:
        return quoted
    # Escaped as json.dumps(ensure_ascii=False) does, by Arrow: a Python string per escaped text
    # cost ~1 s per 100k of them, and the bundles' titles carry quotes and control characters.
    escaped = values.take(pa.array(escape))
    for char in ["\\", *sorted({chr(c) for c in np.unique(data[hits - offsets[0]]).tolist()} - {"\\"})]:
        escaped = pc.replace_substring(escaped, char, json.dumps(char)[1:-1])
    mask = np.zeros(len(values), bool)
    mask[escape] = True
    return _flat(pc.replace_with_mask(quoted, pa.array(mask), pc.binary_join_element_wise('"', escaped, '"', "")))
