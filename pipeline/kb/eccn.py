"""ECCNs (Export Control Classification Numbers) that matter for chips, found in text.

The table comes from ``eccns.yaml`` in the config directory (optional); each entry is an
ECCN and its title. An ECCN is one word of text (``3A090``; ``3A090.a`` is the word
``3A090`` followed by ``a``), so finding them is a dictionary look-up per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import read_yaml
from ..errors import ConfigError
from ..match.text import Document

ECCN_PATTERN = r"^[0-9][A-E][0-9]{3}$"


class _EccnEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    eccn: str = Field(pattern=ECCN_PATTERN)
    title: str = Field(min_length=1)


class _EccnFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    eccns: list[_EccnEntry] = []


@dataclass(frozen=True)
class EccnHit:
    field: str
    position: int
    eccn: str
    title: str

    def describe(self) -> str:
        return f"ECCN {self.eccn}: {self.title}"


class EccnTable:
    def __init__(self, titles: dict[str, str]) -> None:
        self.titles = {eccn.upper(): title for eccn, title in titles.items()}

    @classmethod
    def load(cls, directory: Path) -> EccnTable:
        """``eccns.yaml`` of a config directory; no file: an empty table."""
        path = directory / "eccns.yaml"
        if not path.exists():
            return cls({})
        data = read_yaml(path)
        try:
            parsed = _EccnFile.model_validate(data or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ConfigError(f"{path}: {where}: {error['msg']}") from None
        return cls({entry.eccn: entry.title for entry in parsed.eccns})

    def find(self, doc: Document, fields: tuple[str, ...] = ("title", "text")) -> list[EccnHit]:
        hits = []
        for name in fields:
            field = doc.fields[name]
            for eccn, title in self.titles.items():
                for position in field.positions(eccn, prefix=False, case_sensitive=False):
                    hits.append(EccnHit(name, position, eccn, title))
        return hits
