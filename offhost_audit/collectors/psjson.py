"""Windows PowerShell 5.1 output, made regular.

PS 5.1 ``ConvertTo-Json`` quirks handled here, once: one result is an object, several an array,
none empty output; enums are integers; dates are ``\\/Date(ms)\\/`` (or ``{"value": ..., "DateTime"}``
when wrapped) and WMI gives DMTF strings; objects deeper than ``-Depth`` become their type name as a
string; raw CIM objects carry ``CimClass``/``CimInstanceProperties``/``PSComputerName``. Errors
come on stderr as CLIXML (``#< CLIXML``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from typing import Any

from offhost_audit.errors import CollectorError
from offhost_audit.names import account_name
from offhost_audit.text import clean

CIM_NOISE = frozenset(
    {
        "CimClass",
        "CimInstanceProperties",
        "CimSystemProperties",
        "PSComputerName",
        "PSShowComputerName",
        "RunspaceId",
        "PSSourceJobInstanceId",
    }
)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_DMTF = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$")


def loads(text: str, *, what: str = "output") -> Any:
    """Parse one ConvertTo-Json document; empty output is ``None`` (PowerShell printed nothing)."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        snippet = clean(text[:120], keep_newlines=False)
        where = f"{e.msg} char {e.pos}" if e.msg.endswith(" at") else f"{e.msg} at char {e.pos}"
        raise CollectorError(f"{what} is not valid JSON ({where}): {snippet}") from None
    except RecursionError:
        raise CollectorError(f"{what} is not valid JSON (nested too deeply)") from None


def as_list(value: Any) -> list[Any]:
    """Object, array or nothing, as a list (null items dropped)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    if isinstance(value, dict) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return [v for v in value["value"] if v is not None]  # PS 5.1 array wrapped by ETS
    return [value]


def strip_noise(value: Any) -> Any:
    """Remove CIM bookkeeping properties, recursively."""
    if isinstance(value, dict):
        return {k: strip_noise(v) for k, v in value.items() if k not in CIM_NOISE}
    if isinstance(value, list):
        return [strip_noise(v) for v in value]
    return value


def obj(value: Any) -> dict[str, Any] | None:
    """An object, or None for null, a depth-truncated string or anything else."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return strip_noise(value) if isinstance(value, dict) else None


def text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    s = str(value).strip()
    return s or None


def integer(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def enum(
    value: Any, mapping: dict[int, str], names: dict[str, str] | None = None, default: str | None = None
) -> str | None:
    """Map an integer enum (PS 5.1) or its name (PS 7 ``-EnumsAsStrings``) to our value."""
    n = integer(value)
    if n is not None:
        return mapping.get(n, default)
    s = text(value)
    if s is None:
        return None
    key = re.sub(r"[\s_-]", "", s).lower()
    by_name = {re.sub(r"[\s_-]", "", v).lower(): v for v in mapping.values()}
    by_name.update({k.lower(): v for k, v in (names or {}).items()})
    return by_name.get(key, default)


def date(value: Any) -> datetime | None:
    """``\\/Date(ms)\\/``, the wrapped ``{"value": ...}`` form, DMTF ``yyyymmddHHMMSS.ffffff+UUU`` or ISO."""
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    s = text(value)
    if s is None:
        return None
    s = s.replace("\\/", "/")
    m = _MS_DATE.match(s)
    if m:
        try:
            return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(m.group(1)))
        except OverflowError:
            return None
    m = _DMTF.match(s)
    if m:
        y, mo, d, h, mi, sec, us, sign, off = m.groups()
        try:
            tz = timezone(timedelta(minutes=int(off) * (1 if sign == "+" else -1)))
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec), int(us), tzinfo=tz)
        except ValueError:
            return None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def netbios(name: Any) -> str | None:
    """Computer/cluster name normalised once (:func:`offhost_audit.names.account_name`): ``DOMAIN\\NAME$`` -> NAME."""
    return account_name(text(name))


def guid(value: Any) -> str | None:
    """A GUID lower-case without braces, or None."""
    s = text(value)
    if s is None:
        return None
    m = re.search(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", s)
    return m.group(0).lower() if m else None


# --- CLIXML (stderr of powershell.exe under WinRM) ---------------------------------------------

_CLIXML_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CLIXML_HEADER = "#< CLIXML"


def decode_clixml(stderr: str) -> str:
    """Readable text from ``#< CLIXML`` stderr (error/warning streams); other text passes through.
    Line ends are LF (PowerShell writes CRLF, as ``_x000D__x000A_`` inside CLIXML).

    The ``<Objs>`` documents after the header are read with ElementTree's pull parser: the string
    records (``<S S="Error">``) of the error and warning streams are kept, progress records and the
    like dropped; a document cut short keeps what came before the cut.
    """
    s = stderr.lstrip("\ufeff")
    if not s.lstrip().startswith(_CLIXML_HEADER):
        return lf(s).strip()
    body = s.lstrip()[len(_CLIXML_HEADER) :].replace(_CLIXML_HEADER, "")
    parser: Any = ET.XMLPullParser(events=("end",))
    lines: list[str] = []
    try:
        parser.feed(f"<clixml>{body}</clixml>")  # one root over the (possibly several) <Objs> documents
        for _, el in parser.read_events():
            if el.tag.rsplit("}", 1)[-1] == "S" and (el.get("S") or "").lower() in ("error", "warning"):
                lines.append(_CLIXML_ESC.sub(lambda e: chr(int(e.group(1), 16)), el.text or ""))
    except ET.ParseError:
        pass  # truncated or malformed: keep the records read before the fault
    return lf("".join(lines)).strip()


def lf(text: str) -> str:
    """Windows line ends (CRLF, a lone CR) as LF: host text keeps its line breaks on every face."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
