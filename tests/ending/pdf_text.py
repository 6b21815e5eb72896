"""The text of an uncompressed fpdf2 PDF with embedded TrueType subsets (DejaVu).

Such a PDF shows text as 2-byte glyph ids per font; each font's ToUnicode CMap maps
them back. Enough for tests to check what a letter says (no PDF library needed)."""

from __future__ import annotations

import re


def _object(pdf: bytes, number: int) -> bytes:
    found = re.search(rb"\n%d 0 obj\n(.*?)endobj" % number, pdf, re.S)
    assert found, f"object {number} not in the PDF"
    return found.group(1)


def _cmap(pdf: bytes, font_object: int) -> dict[int, str]:
    to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", _object(pdf, font_object))
    assert to_unicode, "the font has no ToUnicode map"
    stream = _object(pdf, int(to_unicode.group(1)))
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for glyph, code in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(glyph, 16)] = chr(int(code, 16))
    return mapping


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """The PDF literal string opening at data[start] == '(', and the index after it."""
    out = bytearray()
    depth, i = 1, start + 1
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while depth:
        char = data[i]
        if char == 0x5C:  # backslash
            following = data[i + 1]
            if 0x30 <= following <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4])
                assert digits
                out.append(int(digits.group(), 8) & 0xFF)
                i += 1 + len(digits.group())
                continue
            out.append(escapes.get(following, following))
            i += 2
            continue
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                break
        out.append(char)
        i += 1
    return bytes(out), i + 1


def pdf_text(pdf: bytes) -> str:
    """Every shown string, decoded with the font in use; text objects joined by spaces."""
    fonts = {
        name.decode(): _cmap(pdf, int(number))
        for name, number in set(re.findall(rb"/(F\d+) (\d+) 0 R", pdf))
    }
    parts: list[str] = []
    for stream in re.findall(rb"stream\n(.*?)endstream", pdf, re.S):
        if b" Tf" not in stream:
            continue
        current: dict[int, str] = {}
        i = 0
        while i < len(stream):
            if stream.startswith(b"BT", i):
                parts.append(" ")
            font = re.match(rb"/(F\d+) [\d.]+ Tf", stream[i : i + 30])
            if font:
                current = fonts[font.group(1).decode()]
                i += len(font.group())
                continue
            if stream[i] == 0x28:
                raw, i = _literal(stream, i)
                parts.append(
                    "".join(
                        current.get(int.from_bytes(raw[k : k + 2], "big"), "?")
                        for k in range(0, len(raw) - 1, 2)
                    )
                )
                continue
            i += 1
    return " ".join("".join(parts).split())
