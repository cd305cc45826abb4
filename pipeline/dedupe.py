"""Recognising the same article again. Pure functions: data in, keys out.

First cut: the canonical form of a URL (tracking junk removed) and a hash of the
normalised text. Entries seen again (same feed GUID) are caught by the store's
unique (feed, guid) key before any of this runs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ocid",
        "cmpid",
        "cmp",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "vero_conv",
        "vero_id",
        "wt.mc_id",
        "ncid",
        "sr_share",
        "ref_src",
        "ref_url",
        "smid",
        "soc_src",
        "soc_trk",
        "taid",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "spm",
        "__twitter_impression",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "piwik_", "mtm_", "hsa_", "itm_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The form of ``url`` under which the same article is stored once.

    Lower-cases scheme and host, drops default ports, fragments, tracking parameters,
    empty query strings and a trailing slash (except on the root path), and sorts the
    remaining query. Unparseable input is returned stripped, unchanged otherwise.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=~-._") or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(key)
    )
    return urlunsplit((scheme, host, path, urlencode(query), ""))


_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032"), "'") | dict.fromkeys(
    map(ord, "\u201c\u201d\u201e\u201f\u2033"), '"'
)
_NON_WORD = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Text reduced to lower-case words: the same article with other whitespace,
    quotes or dashes normalises to the same string."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_QUOTES)
    return _NON_WORD.sub(" ", text.casefold()).strip()


SHORT_TEXT_WORDS = 40


def text_hash(title: str, text: str) -> str:
    """Hash of the normalised body; a short body (a teaser) is hashed with its title,
    since two different stories can share a one-line feed summary."""
    body = normalise_text(text)
    if len(body.split()) < SHORT_TEXT_WORDS:
        body = f"{normalise_text(title)}\n{body}"
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
