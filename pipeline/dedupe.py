"""Recognising the same article and the same story again. Pure: data in, keys out.

Four levels, cheapest first (the store applies them in this order):

1. the same feed entry again: the store's unique (feed, GUID) key;
2. the same URL: ``canonical_url`` (tracking junk, fragments, default ports removed) and
   ``url_variants`` (AMP and mobile forms, matched against canonical URLs already stored);
3. the same text: ``text_hash`` of the normalised body;
4. the same story told again (syndicated copies with edited headlines and trimmed
   paragraphs, "UPDATE 2" versions): MinHash signatures of word shingles, with LSH band
   keys stored in the database so that candidates are one indexed look-up away.
   ``same_story`` decides on the candidates.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import numpy as np

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


AMP_PARAMS = frozenset({"amp", "outputtype", "output", "amp_js_v", "usqp"})
MOBILE_HOST_PREFIXES = ("m.", "mobile.", "amp.")


def url_variants(url: str) -> list[str]:
    """Other canonical URLs that may name the same article: without ``/amp`` path parts or
    AMP parameters, on the host without ``m.``/``mobile.``/``amp.`` (bare or ``www.``).

    These are only looked up among canonical URLs already stored (from ``rel=canonical``
    or earlier fetches), never used to rewrite a URL, because ``m.example.com`` is not
    always the same site as ``example.com``.
    """
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    if parts.scheme not in DEFAULT_PORTS:
        return []
    host = parts.netloc
    hosts = {host}
    for prefix in MOBILE_HOST_PREFIXES:
        if host.startswith(prefix):
            bare = host.removeprefix(prefix)
            hosts |= {bare, f"www.{bare}"}
    segments = [s for s in parts.path.split("/") if s.lower() not in {"amp", "amp.html"}]
    path = "/".join(segments) or "/"
    path = re.sub(r"\.amp(\.html)?$", "", path, flags=re.IGNORECASE)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if k.lower() not in AMP_PARAMS]
    )  # fmt: skip
    variants = {urlunsplit((parts.scheme, h, path, query, "")) for h in hosts}
    variants.discard(canonical)
    return sorted(variants)


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


# --------------------------------------------------------------------------- exact duplicates


@dataclass(frozen=True)
class StoredArticle:
    """What the exact-duplicate decision needs to know about a stored article."""

    id: int
    story_id: int
    url: str
    canonical_url: str
    text_hash: str
    title: str
    fetched_at: datetime


def entry_hash(title: str, summary: str) -> str:
    """What an item said in its feed: when this changes under the same GUID, the item was
    updated in place ("UPDATE 2" with the news added) and is matched again."""
    return hashlib.sha256(
        f"{normalise_text(title)}\n{normalise_text(summary)}".encode()
    ).hexdigest()


def same_headline(a: str, b: str) -> bool:
    """The same headline, wire prefixes, case and punctuation aside."""
    return normalise_text(clean_title(a)) == normalise_text(clean_title(b))


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().removeprefix("www.")
    except ValueError:
        return ""


def exact_duplicate(
    title: str,
    own_keys: Sequence[str],
    declared_key: str | None,
    digest: str,
    stored: Sequence[StoredArticle],
    *,
    now: datetime,
    window: timedelta,
) -> tuple[StoredArticle, str] | None:
    """The stored article a new one repeats, and why; ``None`` if it repeats none.

    The same URL (or its AMP/mobile form) is the same article. The same declared
    canonical URL or the same text counts only within the story window and under the
    same headline: a paywall, consent or bot-check page gives every article of a site
    the same text (and often the same canonical URL), and must not make them one.
    """
    for row in stored:
        if row.canonical_url in own_keys:
            return row, "same URL"
    for row in stored:
        if now - row.fetched_at > window or not same_headline(title, row.title):
            continue
        if declared_key and row.canonical_url == declared_key:
            return row, "same declared canonical URL and headline"
        if row.text_hash == digest:
            return row, "same text and headline"
    return None


def shared_boilerplate(url: str, title: str, same_text: Sequence[StoredArticle]) -> bool:
    """Whether a page's text is boilerplate: stored on the same host under a different
    headline (``same_text``: the stored articles with the same text hash)."""
    host = host_of(url)
    return any(
        host_of(row.url) == host and not same_headline(title, row.title) for row in same_text
    )


# --------------------------------------------------------------------------- stories

_WIRE_PREFIX = re.compile(
    r"^\s*(?:(?:UPDATE|REFILE|CORRECTED|EXCLUSIVE|BREAKING|RPT|WRAPUP|ANALYSIS|FACTBOX)"
    r"(?:\s*\d+)?\s*[-:|]\s*)+",
    re.IGNORECASE,
)
SHINGLE_WORDS = 3
NUM_PERM = 64
BANDS = 32
ROWS = 2
_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
_PERM_RNG = np.random.RandomState(20261126)
_PERM_A = _PERM_RNG.randint(1, 1 << 31, size=NUM_PERM, dtype=np.uint64)
_PERM_B = _PERM_RNG.randint(0, 1 << 31, size=NUM_PERM, dtype=np.uint64)

JACCARD_SAME_STORY = 0.45
CONTAINMENT_SAME_STORY = 0.75
MIN_SHINGLES_FOR_CONTAINMENT = 12
MIN_MATCHING_MINHASHES = 8
"""Containment is only estimated from real overlap: at least 8 of the 64 minimum hashes
equal (a Jaccard estimate of 1/8). Fewer is noise: a 12-shingle item and a 1,000-shingle
article agree on 2 of 64 by chance often enough to merge unrelated stories."""
MIN_SHARED_SHINGLES = 20
"""...and at least this many shingles estimated to be shared."""


def clean_title(title: str) -> str:
    """A headline without wire-service prefixes such as ``UPDATE 2-`` or ``EXCLUSIVE-``."""
    return _WIRE_PREFIX.sub("", title).strip()


@dataclass(frozen=True)
class Fingerprint:
    """What near-duplicate detection stores per article."""

    signature: bytes
    shingles: int
    bands: tuple[int, ...]


def fingerprint(title: str, text: str) -> Fingerprint:
    hashes = shingle_hashes(f"{clean_title(title)}\n{text}")
    signature = minhash(hashes)
    return Fingerprint(signature.tobytes(), len(hashes), band_keys(signature))


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """Stable 32-bit hashes of every run of ``size`` words of the normalised text."""
    words = normalise_text(text).split()
    if len(words) < size:
        grams = [" ".join(words)] if words else []
    else:
        grams = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
    unique = {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest()) for g in grams}
    return np.fromiter(unique, dtype=np.uint64, count=len(unique))


def minhash(hashes: np.ndarray) -> np.ndarray:
    """``NUM_PERM`` minimum hash values under fixed random permutations (uint32 array)."""
    if hashes.size == 0:
        return np.full(NUM_PERM, _MAX_HASH, dtype=np.uint32)
    with np.errstate(over="ignore"):
        permuted = (hashes[:, None] * _PERM_A + _PERM_B) % _MERSENNE & _MAX_HASH
    return permuted.min(axis=0).astype(np.uint32)


def band_keys(signature: np.ndarray) -> tuple[int, ...]:
    """One signed 63-bit key per LSH band; two articles share a key with probability
    1 - (1 - J**ROWS)**BANDS for Jaccard similarity J: 0.9999 at J = 0.5, 0.95 at 0.3."""
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + rows, digest_size=8).digest()
        keys.append(int.from_bytes(digest, signed=True) >> 1)
    return tuple(keys)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two articles' shingle sets."""
    return float(np.mean(np.frombuffer(a, np.uint32) == np.frombuffer(b, np.uint32)))


def same_story(a: Fingerprint, b: Fingerprint) -> tuple[bool, float]:
    """Whether two articles tell the same story, and the estimated Jaccard similarity.

    Enough overlap of word shingles (Jaccard), or one text mostly contained in the other:
    a copy trimmed to its first paragraphs, or an update that added paragraphs. Wrong
    merges hide news, so both thresholds sit well above what different stories about
    the same company share.
    """
    jaccard = similarity(a.signature, b.signature)
    if jaccard >= JACCARD_SAME_STORY:
        return True, jaccard
    small = min(a.shingles, b.shingles)
    if small < MIN_SHINGLES_FOR_CONTAINMENT or jaccard * NUM_PERM < MIN_MATCHING_MINHASHES:
        return False, jaccard
    shared = jaccard * (a.shingles + b.shingles) / (1 + jaccard)
    if shared < MIN_SHARED_SHINGLES:
        return False, jaccard
    return shared / small >= CONTAINMENT_SAME_STORY, jaccard
