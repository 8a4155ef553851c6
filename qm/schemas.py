"""Marshmallow schemas of the core's records that every domain's API answers with."""

from __future__ import annotations

from marshmallow import Schema, fields


class AuditEntrySchema(Schema):
    seq = fields.Int()
    at = fields.DateTime()
    actor_id = fields.Int(allow_none=True)
    actor_name = fields.Str()
    action = fields.Str()
    entity_type = fields.Str()
    entity_id = fields.Str()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    prev_hash = fields.Str()
    hash = fields.Str()
