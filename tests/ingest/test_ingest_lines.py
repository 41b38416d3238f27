"""Physical line numbers of CSV records, the fast way and the exact fallback."""

from __future__ import annotations

import numpy as np
import pytest

from xrec.ingest.lines import data_row_lines, record_start_lines, record_start_lines_exact

TEXT = 'h1,h2\r\n1,"a\nb"\r\n\r\n2,"x""y"\n3,"p\n\nq"\n4,z'


@pytest.mark.parametrize("locate", [record_start_lines, lambda data: record_start_lines_exact(data.decode())])
def test_records_start_lines_and_blanks(locate):
    starts, blank = locate(TEXT.encode())
    assert starts.tolist() == [1, 2, 4, 5, 6, 9]
    assert blank.tolist() == [False, False, True, False, False, False]


def test_rows_exclude_header_blank_and_rejected_records():
    starts, blank = record_start_lines(TEXT.encode())
    # DuckDB numbers records from 1 (header) and counts the blank line: record 5 is '3,...'.
    assert data_row_lines(starts, blank, np.array([5]), 3).tolist() == [2, 5, 9]
    assert data_row_lines(starts, blank, np.array([5]), 4) is None
