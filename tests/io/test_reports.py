"""Plain-text pathology reports: encodings, limits, binary files."""

from __future__ import annotations

from pathlib import Path

import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.reports import read_report

TEXT = "MICROSCOPIC DESCRIPTION:\r\nHypercellular glioma, mitoses 5/10 HPF, necrosis présente.\r\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_encodings_decode_to_the_same_text(tmp_path: Path, encoding: str):
    path = tmp_path / "report.txt"
    path.write_bytes(TEXT.encode(encoding))
    text = read_report(path)
    assert text == TEXT.replace("\r\n", "\n")
    assert "présente" in text and not text.startswith("\ufeff")


def test_cp1252_only_characters(tmp_path: Path):
    path = tmp_path / "r.txt"
    path.write_bytes("Ki-67 “hot spot” – 20%".encode("cp1252"))
    assert read_report(path) == "Ki-67 “hot spot” – 20%"


def test_size_limit_binary_and_missing(tmp_path: Path):
    big = tmp_path / "big.txt"
    big.write_text("x" * 1001)
    with pytest.raises(InputError, match="over the 1,000-byte limit") as info:
        read_report(big, max_bytes=1000)
    assert info.value.path == big
    assert read_report(big, max_bytes=2000) == "x" * 1001
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\x00\x01\x02binary")
    with pytest.raises(InputError, match="not a plain-text report"):
        read_report(pdf)
    with pytest.raises(InputError, match="not found"):
        read_report(tmp_path / "none.txt")
    with pytest.raises(InputError, match="not a file"):
        read_report(tmp_path)
