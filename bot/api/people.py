"""JSON API: a caseworker's actions on a returnee (a reply by hand, consent, a Telegram link
code), and importing returnees from a file."""

from fastapi import APIRouter, HTTPException, Request, Response, UploadFile

from bot import casework, importer, replies
from bot.api import schemas as s
from bot.api.deps import WAKE, Db, Id, actor, log, returnee_or_404, unprocessable
from bot.clock import utcnow
from bot.importer import ImportFileError
from bot.programme import InvalidField

router = APIRouter()


@router.post(
    "/returnees/{returnee_id}/messages",
    status_code=201,
    responses={409: {"description": "refused: `detail.reason` says why, `detail.message` how"}},
)
async def send_message(returnee_id: Id, body: s.ReplyIn, db: Db, request: Request) -> s.MessageOut:
    """Queue a caseworker's message (purpose "manual"); the outbox sends it at once.

    Outside WhatsApp's 24-hour window free text is refused: send it inside the approved
    template for manual replies (`as_template`) or by SMS (`by_sms`). 409 reasons:
    opted_out, consent_withdrawn, no_address, window_closed, choice_required, no_template,
    no_sms.
    """
    returnee = await returnee_or_404(db, returnee_id)
    text = body.text.strip()
    if not text:
        raise unprocessable(InvalidField("text", "must not be empty"))
    services = request.app.state.services
    try:
        message = await replies.send_reply(
            db,
            returnee,
            text,
            as_template=body.as_template,
            by_sms=body.by_sms,
            templates=services.outbox.templates,
            texts=services.template_texts,
            actor=actor(db),
            now=utcnow(),
        )
    except replies.ReplyRefused as refused:
        raise HTTPException(409, {"reason": refused.reason, "message": str(refused)}) from None
    db.info[WAKE] = True
    return s.MessageOut.model_validate(message, from_attributes=True)


@router.get("/returnees/{returnee_id}/consents")
async def consents(returnee_id: Id, db: Db) -> list[s.ConsentOut]:
    """The consent ledger, oldest first."""
    await returnee_or_404(db, returnee_id, view="consents")
    return [
        s.ConsentOut.model_validate(c, from_attributes=True)
        for c in await casework.consent_history(db, returnee_id)
    ]


@router.post("/returnees/{returnee_id}/consents", status_code=201)
async def record_consent(returnee_id: Id, body: s.ConsentIn, db: Db) -> s.ConsentOut:
    """Record consent given or withdrawn as told to a caseworker; withdrawal stops every send."""
    returnee = await returnee_or_404(db, returnee_id)
    event = await casework.set_consent(
        db, returnee, body.kind, method="api", actor=actor(db), now=utcnow()
    )
    return s.ConsentOut.model_validate(event, from_attributes=True)


@router.post("/returnees/{returnee_id}/link-code", status_code=201)
async def link_code(returnee_id: Id, db: Db, request: Request) -> s.LinkCodeOut:
    """Make a single-use Telegram link code (7 days); only its hash is kept: shown once."""
    returnee = await returnee_or_404(db, returnee_id)
    settings = request.app.state.services.settings
    issued = await casework.issue_link_code(
        db,
        returnee,
        bot_username=getattr(settings, "telegram_bot_username", None),
        actor=actor(db),
        now=utcnow(),
    )
    return s.LinkCodeOut(code=issued.code, link=issued.link, expires_at=issued.expires_at)


@router.post(
    "/returnees/import",
    status_code=201,
    responses={
        200: {"model": s.ImportOut, "description": "dry run: every row is valid"},
        422: {"description": "the file, or each invalid row by number and column"},
    },
)
async def import_returnees(
    file: UploadFile, db: Db, response: Response, dry_run: bool = False
) -> s.ImportOut:
    """Import returnees from a .csv or .xlsx file (the columns of `returnee-bot import`).

    Every row is checked first; if any is invalid, nothing is imported and the 422 lists each
    problem as `loc: ["file", row number, column]`. With `dry_run` nothing is kept.
    """
    try:
        rows = importer.read_upload(file.filename or "", await file.read())
    except ImportFileError as error:
        raise unprocessable(InvalidField("file", str(error))) from None
    report = await importer.import_rows(db, rows, dry_run=dry_run, now=utcnow())
    if report.problems:
        raise HTTPException(
            422,
            [
                {"loc": ["file", p.row, p.field], "msg": p.message, "type": "value_error"}
                for p in report.problems
            ],
        )
    if dry_run:
        response.status_code = 200
    else:
        detail = f"{report.valid} returnees from {(file.filename or '')[:120]}"
        await log(db, "import", None, detail)
    return s.ImportOut(dry_run=dry_run, valid=report.valid, imported=0 if dry_run else report.valid)
