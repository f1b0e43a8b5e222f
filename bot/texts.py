"""Every sentence the bot says about panel data, rendered in the person's language (HTML)."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

from bot.domain import OrderField, Placement, Status
from bot.i18n import _, __, format_moment, format_money, format_number
from bot.panel.errors import InvalidKey, PanelError, PanelRejected, known_error_code
from bot.panel.models import Service, canonical_status
from bot.services.order_form import FieldKind, FieldSpec, InvalidAnswer
from bot.services.pricing import PACKAGE_KINDS
from bot.storage.repositories import FailureKind, OrderRow
from bot.views.markup import Limit, escaped, fit, shorten

STATUS_LABELS = {
    Status.PENDING: __("Pending"),
    Status.IN_PROGRESS: __("In progress"),
    Status.PROCESSING: __("Processing"),
    Status.ACTIVE: __("Active"),
    Status.COMPLETED: __("Completed"),
    Status.PARTIAL: __("Partial"),
    Status.CANCELED: __("Canceled"),
    Status.REFUNDED: __("Refunded"),
    Status.FAIL: __("Failed"),
    Status.ERROR: __("Error"),
    Status.REJECTED: __("Rejected"),
}

STATUS_ICONS = {
    Status.PENDING: "🕓",
    Status.IN_PROGRESS: "🔄",
    Status.PROCESSING: "🔄",
    Status.ACTIVE: "🔄",
    Status.COMPLETED: "✅",
    Status.PARTIAL: "🌓",
    Status.CANCELED: "✖️",
    Status.REFUNDED: "↩️",
    Status.FAIL: "⚠️",
    Status.ERROR: "⚠️",
    Status.REJECTED: "✖️",
}

PANEL_ERRORS = {
    "invalid_key": __("The panel does not accept the API key."),
    "incorrect_request": __("The panel did not understand the request."),
    "incorrect_service": __("This service is no longer offered by the panel."),
    "not_enough_funds": __("Not enough funds on the panel balance."),
    "min_quantity": __("The quantity is below the service's minimum."),
    "max_quantity": __("The quantity is above the service's maximum."),
    "bad_link": __("The panel does not accept this link."),
    "link_duplicate": __(
        "There is already an active order for this link. Wait until it is completed."
    ),
    "incorrect_order": __("The panel does not know this order."),
    "not_eligible_refill": __("This order is not eligible for a refill."),
    "refill_not_found": __("The panel does not know this refill."),
}


def status_label(status: str | None) -> str:
    if not status:
        return _("Unknown")
    code = canonical_status(status)
    return str(STATUS_LABELS[code]) if code in STATUS_LABELS else escaped(status, Limit.STATUS)


def status_icon(status: str | None) -> str:
    return STATUS_ICONS.get(canonical_status(status or "") or "", "•")


def panel_message(message: str) -> str:
    """The panel's refusal in the person's language; an unknown one quoted as written."""
    code = known_error_code(message)
    if code in PANEL_ERRORS:
        return str(PANEL_ERRORS[code])
    return _("The panel answered: {message}").format(message=escaped(message, Limit.PANEL_TEXT))


def panel_failure(exc: PanelError, *, shared_key: bool = False) -> str:
    if isinstance(exc, InvalidKey):
        if shared_key:  # people cannot connect a key of their own: only the operator can help
            return _("The panel does not accept the bot's API key. Please tell the operator.")
        return _(
            "The panel does not accept the API key. Connect a valid key with /connect, "
            "or tell the bot's operator."
        )
    if isinstance(exc, PanelRejected):
        return panel_message(exc.message)
    return _("The panel is not answering right now. Please try again in a minute.")


def money(amount: Decimal | None, currency: str | None) -> str:
    """An amount as HTML: the currency is the panel's text, whatever it holds."""
    if amount is None:
        return _("unknown")
    return format_money(amount, escaped(currency, Limit.CURRENCY) if currency else None)


def number(value: int | None) -> str:
    return format_number(value) if value is not None else _("unknown")


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def service_button(service: Service) -> str:
    """A plain-text label (buttons take no HTML): ID and price kept, the name shortened."""
    return f"#{service.service} {shorten(service.name, 48)} · {format_number(service.rate)}"


def service_card(service: Service) -> str:
    lines = [
        f"<b>{escaped(service.name, Limit.NAME)}</b>",
        _("Service ID: {id}").format(id=service.service),
        _("Category: {category}").format(category=escaped(service.category, Limit.NAME)),
        _("Type: {type}").format(
            type=escaped(service.kind.value if service.type_known else service.type, Limit.STATUS)
        ),
    ]
    if service.kind in PACKAGE_KINDS:  # one package at `rate`: no quantity to choose
        lines.append(_("Price per package: {rate}").format(rate=format_number(service.rate)))
    else:
        lines += [
            _("Price per 1000: {rate}").format(rate=format_number(service.rate)),
            _("Minimum: {min} · Maximum: {max}").format(
                min=format_number(service.min), max=format_number(service.max)
            ),
        ]
    lines.append(
        _("Refill: {refill} · Cancel: {cancel} · Drip-feed: {dripfeed}").format(
            refill=yes_no(service.refill),
            cancel=yes_no(service.cancel),
            dripfeed=yes_no(service.dripfeed),
        )
    )
    description = plain_text(service.description)
    if description:
        lines += ["", escaped(description, Limit.DESCRIPTION)]
    return fit("\n".join(lines))


_LINE_BREAK = re.compile(r"<\s*br\s*/?\s*>|</\s*(?:p|div|li)\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def plain_text(panel_html: str) -> str:
    """A panel's description as plain text: its HTML line breaks kept, other tags dropped."""
    text = _TAG.sub("", _LINE_BREAK.sub("\n", panel_html))
    return _BLANK_LINES.sub("\n\n", unescape(text)).strip()


def invalid_answer(error: InvalidAnswer) -> str:
    p = error.params
    texts = {
        "url_expected": _("Send a link starting with http:// or https://."),
        "url_too_long": _("This link is too long."),
        "integer_expected": _("Send a whole number, digits only."),
        "out_of_range": _("Send a number from {min} to {max}."),
        "lines_count": _("Send from {min} to {max} lines, one item per line (you sent {count})."),
        "line_too_long": _("A line is too long: at most {max} characters."),
        "text_too_long": _("This text is too long: at most {max} characters."),
        "single_line_expected": _("Send a single line."),
        "empty": _("The answer is empty."),
        "not_a_choice": _("Choose one of: {choices}."),
        "date_expected": _("Send a date as day/month/year, for example 31/12/2027."),
        "date_in_past": _("The date must be in the future."),
        "dripfeed_total_too_big": _(
            "Quantity × runs is {total}, above the service's maximum of {max}."
        ),
        "username_invalid": _("Send a username: letters, digits, dots and underscores."),
        "hashtag_invalid": _("Send one hashtag without spaces."),
        "min_above_max": _("The maximum must not be below the minimum ({min})."),
    }
    template = texts.get(error.code, _("This answer is not valid."))
    values = {
        key: format_number(value) if isinstance(value, int) else escaped(value, Limit.ITEM)
        for key, value in p.items()
    }
    if "choices" in p and isinstance(p["choices"], list | tuple):
        values["choices"] = ", ".join(escaped(c, Limit.ITEM) for c in p["choices"])
    text = template.format_map(_Missing(values))
    if "line" in p:
        text = _("Line {line}: {problem}").format(line=p["line"], problem=text)
    return text


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


FIELD_PROMPTS = {
    OrderField.LINK: __("Send the link (http:// or https://)."),
    OrderField.QUANTITY: __("How many? Send a number from {min} to {max}."),
    OrderField.COMMENTS: __("Send the comments, one per line ({min} to {max} lines)."),
    OrderField.USERNAMES: __("Send the usernames, one per line."),
    OrderField.HASHTAGS: __("Send the hashtags, one per line."),
    OrderField.HASHTAG: __("Send the hashtag."),
    OrderField.USERNAME: __("Send the username."),
    OrderField.MEDIA: __("Send the media link (http:// or https://)."),
    OrderField.ANSWER_NUMBER: __("Send the number of the poll answer."),
    OrderField.GROUPS: __("Send the groups, one per line."),
    OrderField.MIN: __("Minimum quantity per post: a number from {min} to {max}."),
    OrderField.MAX: __("Maximum quantity per post: a number from {min} to {max}."),
    OrderField.POSTS: __("How many new posts? Send a number, or skip for no limit."),
    OrderField.OLD_POSTS: __("How many old posts? Send a number, or skip."),
    OrderField.DELAY: __("Delay before delivery, in minutes: choose one."),
    OrderField.EXPIRY: __("Expiry date as day/month/year, or skip."),
    OrderField.RUNS: __("Drip-feed: in how many runs? Send a number, or skip to deliver at once."),
    OrderField.INTERVAL: __("Drip-feed: minutes between runs. Choose one."),
    OrderField.COUNTRY: __("Country of the traffic (for example US), or skip."),
    OrderField.DEVICE: __(
        "Device: 1 desktop, 2 mobile Android, 3 mobile iOS, 4 mixed mobile, 5 mixed."
    ),
    OrderField.TYPE_OF_TRAFFIC: __(
        "Type of traffic: 1 Google keyword, 2 custom referrer, 3 blank."
    ),
    OrderField.GOOGLE_KEYWORD: __("Send the Google keyword."),
    OrderField.REFERRING_URL: __("Send the referring URL (http:// or https://)."),
}


def field_prompt(spec: FieldSpec) -> str:
    template = FIELD_PROMPTS.get(spec.name)
    text = str(template) if template is not None else _("Send the value for {name}.")
    text = text.format(
        name=escaped(spec.name, Limit.ITEM),
        min=number(spec.min_value) if spec.min_value is not None else "0",
        max=number(spec.max_value) if spec.max_value is not None else "∞",
    )
    if (
        spec.kind is FieldKind.LINES
        and spec.min_value is not None
        and spec.name is not OrderField.COMMENTS
    ):
        text += "\n" + _("From {min} to {max} lines.").format(
            min=number(spec.min_value), max=number(spec.max_value)
        )
    return text


def list_received(spec: FieldSpec, count: int) -> str:
    """The running count of a list sent in several messages."""
    return _(
        "{label}: {count} received so far. Send the rest, or press ✅ Done if that is all."
    ).format(label=field_label(spec.name), count=format_number(count))


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return _("unknown")
    return format_moment(timestamp)


def order_title(order: OrderRow) -> str:
    if order.panel_order_id is not None:
        return _("Order #{id}").format(id=order.panel_order_id)
    return _("Order (local {id})").format(id=order.id)


def order_button(order: OrderRow) -> str:
    """A plain-text label (buttons take no HTML): status and number kept, the name shortened."""
    name = shorten(order.service_name, 32)
    icon = (
        status_icon(order.status)
        if order.placement is Placement.PLACED
        else PLACEMENT_ICONS.get(order.placement, "⚠️")
    )
    number_text = f"#{order.panel_order_id}" if order.panel_order_id else "—"
    return f"{icon} {number_text} {name}"


PLACEMENT_ICONS = {
    Placement.PENDING: "🕓",
    Placement.UNKNOWN: "⚠️",
    Placement.FAILED: "❌",
    Placement.PLACED: "•",
}


def placement_note(order: OrderRow) -> str | None:
    if order.placement is Placement.UNKNOWN:
        return _(
            "⚠️ The panel did not answer when this order was sent. It may or may not have been "
            "placed; it was not sent again. The operator has been told."
        )
    if order.placement is Placement.FAILED:
        if order.failure_kind is FailureKind.UNREACHABLE:
            return _("This order was not placed: the panel could not be reached.")
        if order.failure_kind is FailureKind.NOT_PLACED:
            return _(
                "This order was not placed: the operator checked that the panel has no such order."
            )
        return _("This order was not placed: {reason}").format(
            reason=panel_message(order.failure) if order.failure else _("unknown")
        )
    if order.placement is Placement.PENDING:
        return _("This order is being sent to the panel.")
    return None


def order_card(order: OrderRow, *, panel_charge: bool = True) -> str:
    """`panel_charge`: show what the panel charged (never in a shop, whose customers see only
    their own price)."""
    lines = [f"<b>{order_title(order)}</b>", escaped(order.service_name, Limit.NAME)]
    note = placement_note(order)
    if note:
        lines += ["", note]
    if order.placement is Placement.PLACED:
        status = (
            f"{status_icon(order.status)} {status_label(order.status)}"
            if order.status
            else _("not checked yet")
        )
        lines += ["", _("Status: {status}").format(status=status)]
        if panel_charge:
            lines.append(_("Charge: {charge}").format(charge=money(order.charge, order.currency)))
        lines += [
            _("Start count: {value}").format(value=number(order.start_count)),
            _("Remains: {value}").format(value=number(order.remains)),
        ]
    if order.link:
        lines.append(_("Link: {link}").format(link=escaped(order.link, Limit.LINK)))
    if order.quantity is not None:
        lines.append(_("Quantity: {value}").format(value=number(order.quantity)))
    runs = order.extra.get("runs")
    if isinstance(runs, int) and order.quantity is not None:
        lines.append(
            _("Drip-feed: {runs} runs, {interval} minutes apart, {total} in all").format(
                runs=number(runs),
                interval=number(order.extra.get("interval")),
                total=number(runs * order.quantity),
            )
        )
    if order.price is not None:
        lines.append(_("Price shown: {price}").format(price=money(order.price, order.currency)))
    lines += [
        _("Created: {time}").format(time=when(order.created_at)),
        _("Updated: {time}").format(time=when(order.updated_at)),
    ]
    return fit("\n".join(lines))


FIELD_LABELS = {
    OrderField.LINK: __("Link"),
    OrderField.QUANTITY: __("Quantity"),
    OrderField.COMMENTS: __("Comments"),
    OrderField.USERNAMES: __("Usernames"),
    OrderField.HASHTAGS: __("Hashtags"),
    OrderField.HASHTAG: __("Hashtag"),
    OrderField.USERNAME: __("Username"),
    OrderField.MEDIA: __("Media"),
    OrderField.ANSWER_NUMBER: __("Answer number"),
    OrderField.GROUPS: __("Groups"),
    OrderField.MIN: __("Minimum"),
    OrderField.MAX: __("Maximum"),
    OrderField.POSTS: __("New posts"),
    OrderField.OLD_POSTS: __("Old posts"),
    OrderField.DELAY: __("Delay (minutes)"),
    OrderField.EXPIRY: __("Expiry"),
    OrderField.RUNS: __("Runs"),
    OrderField.INTERVAL: __("Interval (minutes)"),
    OrderField.COUNTRY: __("Country"),
    OrderField.DEVICE: __("Device"),
    OrderField.TYPE_OF_TRAFFIC: __("Type of traffic"),
    OrderField.GOOGLE_KEYWORD: __("Google keyword"),
    OrderField.REFERRING_URL: __("Referring URL"),
}


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else escaped(name, Limit.ITEM)
