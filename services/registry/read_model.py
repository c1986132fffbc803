"""The registry's read model: catalogue, versions with lineage, aliases with their history, base models.

Rebuilt from the log by a ProjectionRunner (registry events and every BaseModelRegistered); it can
be dropped and replayed at any time. Queries return plain JSON-ready dicts; the rpc handlers answer
them as the reply models of services/registry/replies.py.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from eventsourcing.sqlite import SQLiteCursor

from contracts import Envelope
from contracts.events.keys import ApiKeyCreated, ApiKeyRevoked
from contracts.events.models import (
    BaseModelRegistered,
    ModelAliasSet,
    ModelArtifactsPurged,
    ModelDeleted,
    ModelDeprecated,
    ModelFootprintRecorded,
    ModelRegistered,
    ModelVerificationCompleted,
)
from services.runtime.views import SQLiteView

FILTER_SUBJECTS = ("events.registry.>", "events.*.base_model.*.BaseModelRegistered")
_VERSION_COLUMNS = (
    "name, version, job_id, base_model, dataset_id, status, verified, registered_at, deleted_at, purged, "
    "json_extract(registration, '$.owner') AS owner"
)


class RegistryView(SQLiteView):
    name = "registry_catalogue"
    tables: ClassVar[dict[str, str]] = {
        "model_ids": "CREATE TABLE IF NOT EXISTS model_ids (id TEXT PRIMARY KEY, name TEXT)",
        "versions": "CREATE TABLE IF NOT EXISTS versions (name TEXT, version INTEGER, job_id TEXT, base_model TEXT, "
        "dataset_id TEXT, status TEXT, verified INTEGER, registered_at TEXT, deleted_at TEXT, purged INTEGER, "
        "registration TEXT, footprint TEXT, verification TEXT, PRIMARY KEY (name, version))",
        "aliases": "CREATE TABLE IF NOT EXISTS aliases (name TEXT, alias TEXT, version INTEGER, set_at TEXT, "
        "PRIMARY KEY (name, alias))",
        "alias_history": "CREATE TABLE IF NOT EXISTS alias_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, "
        "alias TEXT, version INTEGER, previous_version INTEGER, set_at TEXT, actor TEXT)",
        "base_models": "CREATE TABLE IF NOT EXISTS base_models (name TEXT PRIMARY KEY, uri TEXT, sha256 TEXT, "
        "size_bytes INTEGER, architecture TEXT, parameters INTEGER, registered_at TEXT)",
        "api_keys": "CREATE TABLE IF NOT EXISTS api_keys (aggregate_id TEXT PRIMARY KEY, key_id TEXT, name TEXT, "
        "role TEXT, tenant TEXT, hint TEXT, created_at TEXT, created_by TEXT, revoked_at TEXT)",
    }

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        at, event = envelope.occurred_at.isoformat(), envelope.event
        name = self._name(cursor, envelope.aggregate_id, event)
        match event:
            case ModelRegistered():
                cursor.execute(
                    "INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?, 'active', NULL, ?, NULL, 0, ?, ?, NULL)",
                    (name, event.model_version, event.job_id, event.base_model, event.dataset_id, at,
                     event.model_dump_json(), _json(event.footprint)),
                )  # fmt: skip
            case ModelAliasSet(alias=alias, model_version=number, previous_version=previous):
                cursor.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)", (name, alias, number, at))
                cursor.execute(
                    "INSERT INTO alias_history (name, alias, version, previous_version, set_at, actor) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (name, alias, number, previous, at, f"{envelope.actor.kind}:{envelope.actor.id}"),
                )
            case ModelVerificationCompleted(model_version=number, verified=ok):
                self._update(cursor, name, number, "verified = ?, verification = ?", int(ok), event.model_dump_json())
            case ModelFootprintRecorded(model_version=number, footprint=footprint):
                self._update(cursor, name, number, "footprint = ?", footprint.model_dump_json())
            case ModelDeprecated(model_version=number):
                self._update(cursor, name, number, "status = 'deprecated'")
            case ModelDeleted(model_version=number):
                self._update(cursor, name, number, "status = 'deleted', deleted_at = ?", at)
            case ModelArtifactsPurged(model_version=number):
                self._update(cursor, name, number, "purged = 1")
            case BaseModelRegistered():
                cursor.execute(
                    "INSERT OR REPLACE INTO base_models VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event.name, event.uri, event.sha256, event.size_bytes, event.architecture, event.parameters, at),
                )
            case ApiKeyCreated():
                cursor.execute(
                    "INSERT OR REPLACE INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (envelope.aggregate_id, event.key_id, event.name, event.role, event.tenant, event.hint, at,
                     f"{envelope.actor.kind}:{envelope.actor.id}"),
                )  # fmt: skip
            case ApiKeyRevoked():
                cursor.execute("UPDATE api_keys SET revoked_at = ? WHERE aggregate_id = ?", (at, envelope.aggregate_id))

    @staticmethod
    def _name(cursor: SQLiteCursor, aggregate_id: str, event: object) -> str:
        # Only ModelRegistered carries the name; later events find it through the aggregate id.
        if isinstance(event, (ApiKeyCreated, ApiKeyRevoked)):
            return ""  # not about a model
        if isinstance(event, ModelRegistered):
            cursor.execute("INSERT OR REPLACE INTO model_ids VALUES (?, ?)", (aggregate_id, event.name))
            return event.name
        cursor.execute("SELECT name FROM model_ids WHERE id = ?", (aggregate_id,))
        row = cursor.fetchone()
        return str(row["name"]) if row else ""

    @staticmethod
    def _update(cursor: SQLiteCursor, name: str, number: int, assignments: str, *values: object) -> None:
        cursor.execute(f"UPDATE versions SET {assignments} WHERE name = ? AND version = ?", (*values, name, number))

    # queries

    def catalogue(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT name, MAX(version) AS latest_version, COUNT(*) AS versions, MIN(base_model) AS base_model, "
            "MAX(registered_at) AS updated_at FROM versions WHERE status != 'deleted' GROUP BY name ORDER BY name"
        )
        for row in rows:
            aliases = self.query("SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias", (row["name"],))
            row["aliases"] = {a["alias"]: a["version"] for a in aliases}
        return rows

    def versions(self, name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        hidden = "" if include_deleted else " AND status != 'deleted'"
        return self.query(f"SELECT {_VERSION_COLUMNS} FROM versions WHERE name = ?{hidden} ORDER BY version", (name,))

    def version(self, name: str, number: int) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT *, json_extract(registration, '$.owner') AS owner FROM versions WHERE name = ? AND version = ?",
            (name, number),
        )
        if not rows:
            return None
        row = rows[0]
        for column in ("registration", "footprint", "verification"):
            row[column] = json.loads(str(row[column])) if row[column] else None
        aliases = self.query("SELECT alias FROM aliases WHERE name = ? AND version = ?", (name, number))
        row["aliases"] = [a["alias"] for a in aliases]
        return row

    def version_rows(self) -> list[dict[str, Any]]:
        """Every version of every model, newest first, deleted and failed ones included with their
        status and verdict: what a catalogue page lists (the registry's `resolve` says what is served)."""
        aliases: dict[tuple[str, int], list[str]] = {}
        for a in self.query("SELECT name, alias, version FROM aliases ORDER BY alias"):
            aliases.setdefault((str(a["name"]), int(str(a["version"]))), []).append(str(a["alias"]))
        newest_first = "ORDER BY registered_at DESC, version DESC"
        rows = []
        for row in self.query(f"SELECT {_VERSION_COLUMNS}, registration, footprint FROM versions {newest_first}"):
            registered = json.loads(str(row.pop("registration")))
            footprint = row.pop("footprint")
            energy = json.loads(str(footprint)) if footprint else {}
            verified = row["verified"]
            rows.append(
                {**row, "verified": None if verified is None else bool(verified), "purged": bool(row["purged"]),
                 "artifacts": registered["artifacts"], "final_loss": (registered["metrics"] or {}).get("final_loss"),
                 "energy_kwh": energy.get("energy_kwh"), "emissions_g": energy.get("emissions_g"),
                 "aliases": aliases.get((str(row["name"]), int(str(row["version"]))), [])}
            )  # fmt: skip
        return rows

    def alias_history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        where, params = ("name = ?", (name,)) if alias is None else ("name = ? AND alias = ?", (name, alias))
        return self.query(f"SELECT * FROM alias_history WHERE {where} ORDER BY seq", params)

    def base_models(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM base_models ORDER BY name")

    def api_keys(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM api_keys ORDER BY created_at, key_id")

    def deleted_before(self, cutoff_iso: str) -> list[tuple[str, int]]:
        """Deleted versions whose artifacts are still kept, deleted before `cutoff_iso` (UTC)."""
        rows = self.query(
            "SELECT name, version FROM versions WHERE status = 'deleted' AND purged = 0 AND deleted_at < ?",
            (cutoff_iso,),
        )
        return [(str(r["name"]), int(str(r["version"]))) for r in rows]


def _json(value: Any) -> str | None:
    return None if value is None else str(value.model_dump_json())
