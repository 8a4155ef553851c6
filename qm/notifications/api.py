"""/api/v1/notifications: the caller's own notifications, and marking them read (a dialler's
side panel, a desktop notifier)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate

from qm.auth.access import api_permission, api_user
from qm.inputs import Id
from qm.notifications import queries, services
from qm.web import commit_write, db

blp = Blueprint("api-notifications", __name__, url_prefix="/api/v1",
                description="The caller's notifications")


class NotificationSchema(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "what happened, e.g. evaluation.released"})
    text = fields.Str()
    link = fields.Str(metadata={"description": "the page it is about, a path on this site"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationPageSchema(Schema):
    unread = fields.Int(metadata={"description": "how many of the caller's are unread"})
    items = fields.List(fields.Nested(NotificationSchema))
    next_before = fields.Int(allow_none=True,
                             metadata={"description": "pass as before for the older page"})


class PageQuerySchema(Schema):
    before = Id(metadata={"description": "only notifications with an id below this (paging)"})
    limit = fields.Int(load_default=50, validate=validate.Range(1, 500))


class ReadSchema(Schema):
    ids = fields.List(Id(), load_default=None, metadata={
        "description": "the notifications to mark read; none given: every unread one"})


class ReadResultSchema(Schema):
    marked = fields.Int()
    unread = fields.Int()


@blp.get("/notifications")
@api_permission(None)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(args: dict[str, Any]) -> Any:
    """The caller's notifications, newest first, and the unread count."""
    user = api_user()
    page = queries.page(db.session, user.id, before=args.get("before"), limit=args["limit"])
    return {"unread": queries.unread_count(db.session, user.id), "items": page.rows,
            "next_before": page.next_before}


@blp.post("/notifications/read")
@api_permission(None)
@blp.arguments(ReadSchema)
@blp.response(200, ReadResultSchema)
def read_notifications(data: dict[str, Any]) -> Any:
    """Mark the caller's notifications read: those named, or all. One that is not the caller's
    answers 404 and nothing is marked."""
    user = api_user()

    def write() -> int:
        if data.get("ids") is None:
            return services.mark_all_read(db.session, user)
        unread = [services.own(db.session, user, i) for i in dict.fromkeys(data["ids"])]
        unread = [n for n in unread if n.read_at is None]
        for item in unread:
            services.mark_read(db.session, user, item.id)
        return len(unread)

    marked = commit_write(write)  # NotFound: the app answers 404, rolled back
    return {"marked": marked, "unread": queries.unread_count(db.session, user.id)}


def register(api: Api) -> None:
    api.register_blueprint(blp)
