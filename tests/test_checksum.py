"""The import's checksum thread: the file's SHA-256 and its blank lines (which CSV readers
skip, so line numbers of rejects are shifted by them), whatever the chunk boundaries."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cxkpi.ingest.importer import _Checksum


def blank_lines(data: bytes) -> list[int]:
    """Line numbers (from 1) of the lines ended by a newline that are empty or a lone
    carriage return (what follows the last newline is no line)."""
    return [i + 1 for i, line in enumerate(data.split(b"\n")[:-1]) if line in (b"", b"\r")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"a,b", b"", b"\r", b"1,2\r", b"x"]), max_size=30), st.integers(1, 7),
       st.booleans())
def test_blank_lines_and_digest_whatever_the_chunks(tmp_path_factory, lines, chunk, final_newline) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = Path(tmp_path_factory.mktemp("sum")) / "f.csv"
    path.write_bytes(data)
    check = _Checksum(path, chunk=chunk)
    assert check.value() == hashlib.sha256(data).hexdigest()
    assert check.blank_lines() == blank_lines(data)
