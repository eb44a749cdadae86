"""Small HTML helpers for the straat's front-channel pages (DigiD stub, consent, error pages)."""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from starlette.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
{body}
</body></html>"""


def page(title: str, body_html: str, status: int = 200) -> HTMLResponse:
    """A minimal page; ``body_html`` must already be escaped where it holds data."""
    return HTMLResponse(PAGE.format(title=escape(title), body=body_html), status_code=status)


def error_page(title: str, message: str, status: int = 400) -> HTMLResponse:
    """A technical-error page, shown instead of redirecting when the client or redirect_uri is not trusted."""
    return page(title, f'<p class="error">{escape(message)}</p>', status)


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


class Form:
    """One HTML form as a user agent sees it: action, method, fields and radio choices."""

    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method.upper() or "GET"
        self.fields: dict[str, str] = {}
        self.choices: dict[str, list[tuple[str, str]]] = {}
        self.buttons: list[tuple[str, str]] = []


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get")))
        elif not self.forms:
            return
        form = self.forms[-1]
        if tag == "input":
            kind, name = a.get("type", "text").lower(), a.get("name", "")
            if kind == "radio":
                form.choices.setdefault(name, []).append((a.get("value", ""), a.get("title", "")))
            elif kind == "submit":
                form.buttons.append((name, a.get("value", "")))
            elif name:
                form.fields[name] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            form.buttons.append((a["name"], a.get("value", "")))


def forms(html: str) -> list[Form]:
    """The forms in a page, for the straat's automatic user agent."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
