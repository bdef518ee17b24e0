"""Access tokens: a file of salted hashes, and checking a Bearer token against it.

A token is ``bpt.<key id>.<secret>``: the key id (public, 12 hex digits) names the file's entry,
the secret (32 random bytes, URL-safe base64) is never stored. The file keeps, per token, a
per-token salt and the scrypt hash of the secret, the token's name, whether it is an admin
token, the areas it is limited to and its rate limit. It is written atomically (a temporary
file in the same folder, renamed into place) with mode 0600.

Checking a token (:meth:`TokenFile.verify`) finds the entry by key id and compares the scrypt
hash with :func:`hmac.compare_digest` (constant time). The result is remembered per process
under an HMAC of the token with a random process key, so scrypt runs once per token and
worker; a wrong secret costs one scrypt and is remembered as wrong too. The file is re-read
when it changes (checked at most once a second), so a revoked token stops working within a
second without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from beatplan.geo.errors import InputFormatError, OptionError

__all__ = [
    "DEFAULT_BURST",
    "DEFAULT_RATE",
    "Principal",
    "TokenFile",
    "add_token",
    "list_tokens",
    "revoke_token",
]

log = logging.getLogger("beatplan")

_FORMAT = "beatplan-tokens"
_VERSION = 1
#: scrypt cost: 16 MiB and some 30-60 ms per check (paid once per token and worker).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_AREA = re.compile(r"^(?:[a-z_]{1,16}:)?[A-Za-z0-9][A-Za-z0-9 _.()/&'-]{0,79}$")
_TOKEN = re.compile(r"^bpt\.([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$")
#: Requests per second (and burst) a token may make, unless given.
DEFAULT_RATE = 50.0
DEFAULT_BURST = 100
_RECHECK_S = 1.0
_REMEMBERED = 4096


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a token's name, its rights and its limit.

    Attributes
    ----------
    name : str
        The token's name (safe to log; the token itself never is).
    key_id : str
        The token's public key id.
    admin : bool
        May reload the data.
    areas : tuple of str
        The areas the token is limited to (``ID`` or ``LEVEL:ID``); empty: every area.
    rate, burst : float, int
        Requests per second and the burst allowed.
    """

    name: str
    key_id: str
    admin: bool = False
    areas: tuple[str, ...] = ()
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST

    @property
    def scoped(self) -> bool:
        """Whether the token is limited to some areas."""
        return bool(self.areas)


@dataclass
class _Entry:
    principal: Principal
    salt: bytes
    digest: bytes
    kdf: dict[str, int]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _scrypt(secret: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(
        secret.encode("ascii"),
        salt=salt,
        n=params["n"],
        r=params["r"],
        p=params["p"],
        maxmem=128 * 1024 * 1024,
        dklen=32,
    )


# ---------------------------------------------------------------------------- the file
def _read(path: Path) -> dict[str, Any]:
    """Read the tokens file (an empty one when it does not exist)."""
    if not path.exists():
        return {"format": _FORMAT, "version": _VERSION, "tokens": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFormatError(f"{path}: not a beatplan tokens file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise InputFormatError(
            f'{path}: not a beatplan tokens file (no "format": "{_FORMAT}"); create one with '
            "`beatplan token add NAME --tokens FILE`"
        )
    if not isinstance(data.get("tokens"), list):
        raise InputFormatError(f"{path}: the tokens file has no list of tokens")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write the tokens file atomically with mode 0600 (a temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp: mode 0600
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # the rename itself survives a crash once the folder is synced
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise OptionError(
            f"token name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-', starting "
            "with a letter or digit"
        )
    return name


def _check_areas(areas: Sequence[str]) -> tuple[str, ...]:
    out = []
    for a in areas:
        a = a.strip()
        if not _AREA.match(a):
            raise OptionError(
                f"--area {a!r}: give an area id (e.g. NPA-CE) or LEVEL:ID (e.g. beat:B01)"
            )
        out.append(a)
    return tuple(dict.fromkeys(out))


def add_token(
    path: str | os.PathLike[str],
    name: str,
    *,
    areas: Sequence[str] = (),
    admin: bool = False,
    rate: float = DEFAULT_RATE,
    burst: int = DEFAULT_BURST,
) -> str:
    """Add a token to the tokens file and return it (the only time it is ever shown).

    Parameters
    ----------
    path : path-like
        The tokens file (created when missing).
    name : str
        A name unique among the file's live tokens (it is what the logs show).
    areas : sequence of str
        Limit the token to these areas (``ID`` at any level, or ``LEVEL:ID``); none: all.
    admin : bool
        Allow reloading the data.
    rate, burst : float, int
        Requests per second and the burst allowed.

    Returns
    -------
    str
        The new token, ``bpt.<key id>.<secret>``.

    Raises
    ------
    OptionError
        A bad name, area, rate or burst, or a name already in use.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tokens.json"
    >>> token = add_token(f, "desk-1", areas=["NPA-CE"])
    >>> token.startswith("bpt."), oct(f.stat().st_mode & 0o777)
    (True, '0o600')
    >>> [(t["name"], t["areas"]) for t in list_tokens(f)]
    [('desk-1', ['NPA-CE'])]
    """
    p = Path(path)
    _check_name(name)
    scope = _check_areas(areas)
    if not (rate > 0 and rate <= 1e6) or not (1 <= burst <= 10**6):
        raise OptionError(f"--rate {rate} / --burst {burst}: give a rate > 0 and a burst >= 1")
    data = _read(p)
    live = [t for t in data["tokens"] if not t.get("revoked")]
    if any(t.get("name") == name for t in live):
        raise OptionError(
            f"a live token named {name!r} is already in {p}; revoke it first "
            f"(beatplan token revoke {name} --tokens {p}) or choose another name"
        )
    taken = {t.get("id") for t in data["tokens"]}
    key_id = secrets.token_hex(6)
    while key_id in taken:
        key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    data["tokens"].append(
        {
            "id": key_id,
            "name": name,
            "admin": bool(admin),
            "areas": list(scope),
            "rate": float(rate),
            "burst": int(burst),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "kdf": {"name": "scrypt", **_SCRYPT},
            "salt": _b64(salt),
            "hash": _b64(_scrypt(secret, salt, _SCRYPT)),
        }
    )
    _write(p, data)
    return f"bpt.{key_id}.{secret}"


def list_tokens(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Return the tokens in the file, without their salts and hashes.

    Parameters
    ----------
    path : path-like
        The tokens file.

    Returns
    -------
    list of dict
        ``name``, ``id``, ``admin``, ``areas``, ``rate``, ``burst``, ``created`` and
        ``revoked`` (a time, or None) per token.
    """
    data = _read(Path(path))
    keys = ("name", "id", "admin", "areas", "rate", "burst", "created", "revoked")
    return [{k: t.get(k) for k in keys} for t in data["tokens"]]


def revoke_token(path: str | os.PathLike[str], name: str) -> int:
    """Revoke the live token(s) called ``name``: its hash is dropped, its name kept as revoked.

    Parameters
    ----------
    path : path-like
        The tokens file.
    name : str
        The token's name.

    Returns
    -------
    int
        How many tokens were revoked (0 or 1).

    Raises
    ------
    OptionError
        No live token has that name.
    """
    p = Path(path)
    data = _read(p)
    n = 0
    for t in data["tokens"]:
        if t.get("name") == name and not t.get("revoked"):
            t["revoked"] = datetime.now(UTC).isoformat(timespec="seconds")
            for k in ("salt", "hash"):
                t.pop(k, None)
            n += 1
    if not n:
        names = sorted(t.get("name", "") for t in data["tokens"] if not t.get("revoked"))
        raise OptionError(
            f"no live token named {name!r} in {p}; live tokens: {', '.join(names) or 'none'}"
        )
    _write(p, data)
    return n


# ----------------------------------------------------------------------------- checking
def _entries(data: dict[str, Any], path: Path) -> dict[str, _Entry]:
    out: dict[str, _Entry] = {}
    for t in data["tokens"]:
        if t.get("revoked") or "hash" not in t:
            continue
        try:
            kdf = t["kdf"]
            if kdf.get("name") != "scrypt":
                raise ValueError(f"unknown kdf {kdf.get('name')!r}")
            principal = Principal(
                name=str(t["name"]),
                key_id=str(t["id"]),
                admin=bool(t.get("admin", False)),
                areas=tuple(str(a) for a in t.get("areas") or ()),
                rate=float(t.get("rate", DEFAULT_RATE)),
                burst=int(t.get("burst", DEFAULT_BURST)),
            )
            params = {k: int(kdf[k]) for k in ("n", "r", "p")}
            entry = _Entry(principal, _unb64(t["salt"]), _unb64(t["hash"]), params)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFormatError(
                f"{path}: token entry {t.get('name')!r} is damaged ({exc})"
            ) from exc
        out[principal.key_id] = entry
    return out


@dataclass
class TokenFile:
    """The live tokens of a file, re-read when it changes; checks Bearer tokens.

    Parameters
    ----------
    path : path-like
        The tokens file. It must exist.
    """

    path: Path
    _entries: dict[str, _Entry] = field(default_factory=dict, repr=False)
    _stamp: tuple[int, int, int] | None = field(default=None, repr=False)
    _checked: float = field(default=0.0, repr=False)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _known: OrderedDict[bytes, Principal | None] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _generation: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_file():
            raise InputFormatError(
                f"{self.path}: no tokens file; create one with "
                f"`beatplan token add NAME --tokens {self.path}`"
            )
        self._load()

    def _load(self) -> None:
        st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        entries = _entries(_read(self.path), self.path)
        with self._lock:
            self._entries = entries
            self._stamp = stamp
            self._forget()
        log.info("tokens: %d live token(s) in %s", len(entries), self.path)

    def refresh(self, *, now: float | None = None) -> None:
        """Re-read the file if it changed (looked at no more than once a second)."""
        now = time.monotonic() if now is None else now
        if now - self._checked < _RECHECK_S:
            return
        self._checked = now
        try:
            st = self.path.stat()
        except OSError:
            log.error("tokens: %s has gone; every request is refused until it is back", self.path)
            with self._lock:
                self._entries = {}
                self._stamp = None
                self._forget()
            return
        if (st.st_mtime_ns, st.st_size, st.st_ino) != self._stamp:
            try:
                self._load()
            except (OSError, InputFormatError) as exc:
                log.error(
                    "tokens: cannot re-read %s (%s); every request is refused", self.path, exc
                )
                with self._lock:
                    self._entries = {}
                    self._forget()

    def _forget(self) -> None:
        """Drop every remembered answer (the caller holds the lock)."""
        self._known.clear()
        self._generation += 1

    def __len__(self) -> int:
        return len(self._entries)

    def principal(self, key_id: str) -> Principal | None:
        """Return the live token with this key id, or None (revoked or unknown)."""
        entry = self._entries.get(key_id)
        return None if entry is None else entry.principal

    def costly(self, token: str) -> bool:
        """Whether checking ``token`` runs scrypt: a live key id, a secret not yet seen."""
        m = _TOKEN.match(token)
        if m is None or m.group(1) not in self._entries:
            return False
        mark = hmac.new(self._key, token.encode("utf-8", "replace"), hashlib.sha256).digest()
        return mark not in self._known

    def verify(self, token: str) -> Principal | None:
        """Return who ``token`` belongs to, or None when it is no live token.

        The hash is compared in constant time; results are remembered under an HMAC of the
        token (never the token itself), cleared when the file changes.
        """
        self.refresh()
        mark = hmac.new(self._key, token.encode("utf-8", "replace"), hashlib.sha256).digest()
        if mark in self._known:
            return self._known[mark]
        generation = self._generation
        m = _TOKEN.match(token)
        entry = self._entries.get(m.group(1)) if m else None
        result: Principal | None = None
        if m is not None and entry is not None:
            digest = _scrypt(m.group(2), entry.salt, entry.kdf)
            if hmac.compare_digest(digest, entry.digest):
                result = entry.principal
        with self._lock:
            # remember hits and wrong secrets, unless the file changed meanwhile
            if generation == self._generation and (entry is not None or m is None):
                self._known[mark] = result
                while len(self._known) > _REMEMBERED:
                    self._known.popitem(last=False)
        return result
