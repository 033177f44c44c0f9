"""WebDAV XML: hostile bodies refused (defusedxml), answers built with the stdlib."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from todo.core.errors import BadRequest

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
APPLE = "http://apple.com/ns/ical/"

for prefix, uri in (("d", DAV), ("c", CALDAV), ("cs", CS), ("ical", APPLE)):
    ET.register_namespace(prefix, uri)

# Request bodies are small: a PROPFIND names a few properties, a multiget a few hundred hrefs.
BODY_MAX = 1_000_000


def q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def parse(body: bytes) -> ET.Element | None:
    """The body's root element, None for an empty body; 400 for anything not plain XML
    (entity declarations, external references and DTDs included)."""
    if not body.strip():
        return None
    if len(body) > BODY_MAX:
        raise BadRequest("The XML body is too large.", code="xml_too_large")
    try:
        root: ET.Element = fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, ET.ParseError, ValueError) as error:
        raise BadRequest(f"The body is not acceptable XML: {error}", code="bad_xml") from None
    return root


def element(tag: str, text: str | None = None, *children: ET.Element) -> ET.Element:
    made = ET.Element(tag)
    if text is not None:
        made.text = text
    made.extend(children)
    return made


def href(path: str) -> ET.Element:
    return element(q(DAV, "href"), path)


def propstat(props: Iterable[ET.Element], status: str) -> ET.Element:
    return element(
        q(DAV, "propstat"),
        None,
        element(q(DAV, "prop"), None, *props),
        element(q(DAV, "status"), f"HTTP/1.1 {status}"),
    )


def response(path: str, found: list[ET.Element], missing: list[str]) -> ET.Element:
    """One resource's answer: the properties it has (200) and those it has not (404)."""
    made = element(q(DAV, "response"), None, href(path))
    if found or not missing:
        made.append(propstat(found, "200 OK"))
    if missing:
        made.append(propstat((ET.Element(tag) for tag in missing), "404 Not Found"))
    return made


def status_response(path: str, status: str) -> ET.Element:
    return element(
        q(DAV, "response"), None, href(path), element(q(DAV, "status"), f"HTTP/1.1 {status}")
    )


def multistatus(responses: Iterable[ET.Element], *extra: ET.Element) -> bytes:
    root = element(q(DAV, "multistatus"))
    root.extend(responses)
    root.extend(extra)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root)


def error(*conditions: ET.Element) -> bytes:
    root = element(q(DAV, "error"), None, *conditions)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root)
