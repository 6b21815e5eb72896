"""Hostile input: XXE, entity expansion, DOCTYPEs, huge files, other encodings, non-XML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree

from backend.bank import (
    FileTooLargeError,
    StatementError,
    UnsafeXmlError,
    UnsupportedFormatError,
    read_statement_file,
)
from backend.bank.xml_safety import (
    check_xml_prolog,
    hardened_parser,
    inspect_root,
    open_source,
)
from tests.bank.fixture_paths import CAMT_02, FRIDAY

FRIDAY_02 = (CAMT_02 / f"{FRIDAY}.xml").read_bytes()
NAMESPACE = b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"

XXE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<Document xmlns="' + NAMESPACE + b'"><BkToCstmrStmt><GrpHdr><MsgId>&xxe;</MsgId>'
    b"</GrpHdr></BkToCstmrStmt></Document>\n"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n'
    b"<!DOCTYPE lolz [\n"
    b' <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n'
        % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10)
        for level in range(1, 10)
    )
    + b"]>\n"
    b'<Document xmlns="' + NAMESPACE + b'">&lol9;</Document>\n'
)


def refuse(data: bytes, filename: str = "hostile.xml") -> StatementError:
    with pytest.raises(StatementError) as caught:
        read_statement_file(data, filename=filename)
    return caught.value


def test_xxe_is_refused_before_parsing() -> None:
    error = refuse(XXE)
    assert isinstance(error, UnsafeXmlError)
    assert error.line == 2
    assert "<!DOCTYPE> declaration is not accepted" in str(error)
    assert "XXE" in error.message
    assert "root:" not in str(error)


def test_billion_laughs_is_refused_before_parsing() -> None:
    started = time.perf_counter()
    error = refuse(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1
    assert isinstance(error, UnsafeXmlError)
    assert (error.line, error.element) == (2, None)
    assert "billion laughs" in error.message


def test_a_doctype_behind_a_comment_is_still_refused() -> None:
    data = XXE.replace(b"<!DOCTYPE", b"<!-- harmless? -->\n<?pi x?>\n<!DOCTYPE", 1)
    error = refuse(data)
    assert isinstance(error, UnsafeXmlError)
    assert error.line == 4


def test_a_comment_mentioning_doctype_is_not_a_doctype() -> None:
    data = FRIDAY_02.replace(b"<Document", b"<!-- no <!DOCTYPE here -->\n<Document", 1)
    (statement,) = read_statement_file(data, filename="comment.xml")
    assert len(statement.entries) == 9


def test_defence_in_depth_the_parser_itself_never_resolves_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = XXE.replace(b"file:///etc/passwd", secret.as_uri().encode())
    root = etree.fromstring(data, hardened_parser())
    assert "TOP-SECRET" not in etree.tostring(root, encoding="unicode")
    # and should the prolog check ever be bypassed, the docinfo check refuses the DOCTYPE
    source = open_source(data, filename="bypass.xml", max_bytes=10_000)
    with pytest.raises(UnsafeXmlError, match="DOCTYPE is not accepted"):
        inspect_root(source)


def test_defence_in_depth_entity_expansion_is_refused_by_the_parser_too() -> None:
    # Bypassing the prolog check: libxml2 stops the amplification or keeps the references
    # unexpanded; either way the reader refuses (entity error or DOCTYPE in docinfo).
    source = open_source(BILLION_LAUGHS, filename="bypass.xml", max_bytes=10_000)
    started = time.perf_counter()
    with pytest.raises(UnsafeXmlError):
        inspect_root(source)
    assert time.perf_counter() - started < 1


def test_a_200_mb_file_is_refused_from_its_size_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as stream:
        stream.write(b'<?xml version="1.0"?>\n<Document>')
        stream.truncate(200 * 1024 * 1024)  # sparse: no 200 MB written to disk or memory
    started = time.perf_counter()
    with pytest.raises(FileTooLargeError) as caught:
        read_statement_file(path)
    assert time.perf_counter() - started < 0.5
    assert str(caught.value) == "huge.xml: the file is 200.0 MB; the maximum is 100.0 MB"


def test_the_size_limit_is_configurable() -> None:
    with pytest.raises(FileTooLargeError, match=r"the maximum is 0\.0 MB"):
        read_statement_file(FRIDAY_02, filename="small.xml", max_bytes=1000)
    assert read_statement_file(FRIDAY_02, filename="ok.xml", max_bytes=len(FRIDAY_02))


def test_a_stream_that_grows_past_the_limit_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "growing.xml"
    path.write_bytes(FRIDAY_02)
    source = open_source(path, filename="growing.xml", max_bytes=len(FRIDAY_02))
    path.write_bytes(FRIDAY_02 + b" " * 2_000_000)  # grows after the size check
    with pytest.raises(FileTooLargeError, match="grew beyond the maximum"):
        source.read_all()


def test_non_xml_is_refused() -> None:
    error = refuse(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", filename="statement.pdf")
    assert isinstance(error, UnsupportedFormatError)
    assert str(error).startswith("statement.pdf line 1: not a bank statement")


def test_text_before_the_root_element_is_refused() -> None:
    error = refuse(b'<?xml version="1.0"?>\nhello <Document/>')
    assert isinstance(error, UnsupportedFormatError)
    assert error.line == 2


def test_utf16_is_refused() -> None:
    data = FRIDAY_02.decode().replace("UTF-8", "UTF-16").encode("utf-16")
    error = refuse(data)
    assert isinstance(error, UnsupportedFormatError)
    assert "UTF-16/32" in error.message


def test_a_declared_exotic_encoding_is_refused() -> None:
    data = FRIDAY_02.replace(b'encoding="UTF-8"', b'encoding="EBCDIC-US"', 1)
    error = refuse(data)
    assert "declares encoding 'EBCDIC-US'" in error.message


def test_an_empty_file_is_refused() -> None:
    assert refuse(b"").message == "the file is empty"
    assert refuse(b"  \n\t").message == "the file is empty"


def test_a_missing_file_is_a_statement_error(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="cannot read the file"):
        read_statement_file(tmp_path / "missing.xml")


def test_a_directory_is_not_a_statement(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="not a regular file"):
        read_statement_file(tmp_path)


def test_prolog_check_accepts_declaration_comments_and_bom() -> None:
    check_xml_prolog(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a -->\n<Document/>', filename="x")
    with pytest.raises(UnsafeXmlError):
        check_xml_prolog(b'<?xml version="1.0"?><!ENTITY x "y"><Document/>', filename="x")
    with pytest.raises(UnsupportedFormatError, match="unterminated comment"):
        check_xml_prolog(b"<!-- never closed <Document/>", filename="x")
